/** Human-readable times and sizes for labels, tooltips and panels. */

/** A duration in µs: "850 µs", "12.3 ms", "4.05 s". */
export function fmtDuration(us: number): string {
  if (!Number.isFinite(us)) return 'still open';
  if (us === 0) return '0';
  const a = Math.abs(us);
  if (a < 1) return `${round(us * 1000, 3)} ns`;
  if (a < 1000) return `${round(us, 3)} µs`;
  if (a < 1e6) return `${round(us / 1000, 3)} ms`;
  if (a < 60e6) return `${round(us / 1e6, 3)} s`;
  const m = Math.floor(a / 60e6);
  return `${us < 0 ? '-' : ''}${m} min ${round((a - m * 60e6) / 1e6, 1)} s`;
}

/** A time since the run's start, with a precision that suits the visible span. */
export function fmtTime(us: number, spanUs: number): string {
  if (spanUs < 10) return `${round(us, 3)} µs`;
  if (spanUs < 10_000) return `${round(us / 1000, 3)} ms`;
  return `${round(us / 1e6, 4)} s`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${round(n / 1024, 1)} KiB`;
  return `${round(n / 1024 / 1024, 1)} MiB`;
}

export function fmtPct(p: number): string {
  return `${round(p, 1)} %`;
}

function round(x: number, digits: number): number {
  // Significant digits rather than fixed decimals: 12.3 ms, 0.123 ms.
  if (x === 0) return 0;
  const p = Math.pow(10, Math.max(0, digits - Math.ceil(Math.log10(Math.abs(x)))));
  return Math.round(x * p) / p;
}
