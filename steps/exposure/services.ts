// The services the exposure step can bind to loopback (the answers file's `exposure.loopbackOnly`).
// Plain data, so that loading a step does not load the schema library.
export const EXPOSURE_SERVICES = ['mysql', 'postfix', 'asterisk-ami'] as const;
export type ExposureService = (typeof EXPOSURE_SERVICES)[number];
