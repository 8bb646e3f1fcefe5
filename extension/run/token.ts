/**
 * The per-run secret that lets only this run's processes stream events to the host.
 * 32 random bytes as hex (the runtime passes it through INTERLEAVE_TOKEN to every child process).
 */
import { randomBytes, timingSafeEqual } from 'crypto';

export function newRunToken(): string {
  return randomBytes(32).toString('hex');
}

/** Constant-time comparison, so a local attacker cannot guess the token byte by byte from timings. */
export function tokenMatches(expected: string, offered: unknown): boolean {
  if (typeof offered !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(offered, 'utf8');
  // timingSafeEqual needs equal lengths; the length of our tokens is public anyway.
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
