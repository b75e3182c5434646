// Resolves once yoga (Ink's layout engine, WebAssembly) is instantiated: the wizard waits for it
// before its first render. Run from the sources, yoga's own module has already awaited that at the
// top level, so this is settled. The bundle is CommonJS (scripts/build.mjs: so that a code cache can
// be kept for it), which has no top-level await: there, yoga's module is rewritten to export the
// promise instead, and this module to hand that one on.
export const yogaReady: Promise<void> = Promise.resolve();
