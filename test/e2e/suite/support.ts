/** Helpers for the in-host suite: polling for conditions and the bridge to the browser-side launcher. */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

import { BRIDGE_FILE, TAG } from './constants';

export { TAG };

/**
 * Polls `probe` until it returns a truthy value or `timeoutMs` passes. Polling a condition (not sleeping
 * a guessed time): the loop ends as soon as the state is reached.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${describe(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function describe(v: unknown): string {
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v)?.slice(0, 300) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Where the code-server launcher answers browser-side requests (absent under test-electron). */
export interface BridgeConfig {
  dir: string;
  /** Run only the tests whose title matches (the launcher's --grep). */
  grep?: string;
  /** This session may reload the window (the launcher re-runs the suite after the reload). */
  reload?: boolean;
}


export function bridge(): BridgeConfig | undefined {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!ws) return undefined;
  try {
    return JSON.parse(fs.readFileSync(path.join(ws, BRIDGE_FILE), 'utf8')) as BridgeConfig;
  } catch {
    return undefined;
  }
}

let nextRequest = 1;

/** Asks the launcher to do something in the browser (read the webview DOM, take a screenshot). */
export async function askBrowser<T>(b: BridgeConfig, request: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
  const id = `${process.pid}-${nextRequest++}`;
  console.log(`${TAG} bridge ${id} ${JSON.stringify(request)}`);
  const file = path.join(b.dir, `${id}.json`);
  const text = await waitFor(`the launcher's answer to ${JSON.stringify(request)}`, () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''), timeoutMs);
  const answer = JSON.parse(text) as { ok: boolean; error?: string; value?: T };
  if (!answer.ok) throw new Error(`browser side: ${answer.error}`);
  return answer.value as T;
}

/** A process is gone when kill(0) fails, or it is a zombie (dead, waiting to be reaped). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
