// Exit codes (DESIGN.md): 0 ok; 1 failed (rolled back, nothing half-applied); 2 `plan` found changes,
// or a usage error / bad input; 3 a guarded change was rolled back because it was not confirmed.
export const EXIT = { ok: 0, failed: 1, changesOrUsage: 2, notConfirmed: 3 } as const;
