// Shared by the benchmark bodies that drive sandbox boxes.

/** Linear-interpolated quantile of an ascending list. */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * On SIGINT/SIGTERM: destroy the box (and run `cleanup`), then exit 130/143. A Ctrl-C reaches the
 * body twice (from the terminal and forwarded by bench.mjs): it acts once, and keeps handling the
 * signal meanwhile so that the second one does not kill it mid-teardown. Returns the function that
 * removes the handlers.
 */
export function destroyOnSignal(box: () => { destroy(): Promise<void> } | undefined, log: (line: string) => void, cleanup: () => void = () => undefined): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: destroying the box`);
    void (box()?.destroy() ?? Promise.resolve()).finally(() => {
      cleanup();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
