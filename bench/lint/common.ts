/** Shared helpers for the lint benchmarks: locating the installed CPython library and formatting. */
import { execFileSync } from 'child_process';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');

/** The directory of the installed CPython standard library (python3 on PATH). */
export function stdlibDir(): string {
  return execFileSync('python3', ['-c', 'import os, threading; print(os.path.dirname(threading.__file__))'], { encoding: 'utf8' }).trim();
}

export function pct(n: number, d: number): string {
  return d ? `${((100 * n) / d).toFixed(1)} %` : 'n/a';
}
