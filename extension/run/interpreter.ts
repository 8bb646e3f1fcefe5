/**
 * Which Python runs a traced program. Order: the interpreter the Python extension selected for the
 * file, then the `interleave.pythonPath` setting, then python3 / python on PATH. Each candidate is
 * probed (it must start and be 3.9 or newer); the first that passes wins, and when none does the
 * caller gets every reason so the message can say what was tried.
 *
 * Pure except for `probePython`, which runs the interpreter; `resolveInterpreter` takes the probe as a
 * parameter so the order and the messages are tested without any Python.
 */
import { execFile } from 'child_process';

export const MIN_PYTHON: readonly [number, number] = [3, 9];

export type CandidateSource = 'python-extension' | 'setting' | 'path';

export interface Candidate {
  path: string;
  source: CandidateSource;
}

export interface ProbeResult {
  ok: boolean;
  version?: [number, number, number];
  /** What went wrong when !ok (not found, not Python, crashed). */
  error?: string;
}

export type Probe = (path: string) => Promise<ProbeResult>;

export type Resolution =
  | {
    ok: true; path: string; source: CandidateSource; version: [number, number, number];
    /** Candidates tried before this one and why they were passed over (e.g. a broken pythonPath setting). */
    skipped: Array<{ candidate: Candidate; reason: string }>;
  }
  | { ok: false; message: string; tried: Array<{ candidate: Candidate; reason: string }> };

/** The ordered, de-duplicated candidates. */
export function candidates(o: { fromPythonExtension?: string; setting?: string; platform?: NodeJS.Platform }): Candidate[] {
  const out: Candidate[] = [];
  const add = (p: string | undefined, source: CandidateSource): void => {
    const path = p?.trim();
    if (path && !out.some((c) => c.path === path)) out.push({ path, source });
  };
  add(o.fromPythonExtension, 'python-extension');
  add(o.setting, 'setting');
  if (o.platform === 'win32') add('python', 'path');
  else {
    add('python3', 'path');
    add('python', 'path');
  }
  return out;
}

/** Parses `Python 3.11.7` (what `python --version` prints) or `3.11.7`. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /(?:^|\s)(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function isSupported(v: readonly number[]): boolean {
  return v[0] > MIN_PYTHON[0] || (v[0] === MIN_PYTHON[0] && v[1] >= MIN_PYTHON[1]);
}

export const SOURCE_NAMES: Record<CandidateSource, string> = {
  'python-extension': 'the Python extension\'s selected interpreter',
  setting: 'the interleave.pythonPath setting',
  path: 'PATH',
};

export async function resolveInterpreter(list: readonly Candidate[], probe: Probe): Promise<Resolution> {
  const tried: Array<{ candidate: Candidate; reason: string }> = [];
  for (const c of list) {
    const r = await probe(c.path);
    if (!r.ok || !r.version) {
      tried.push({ candidate: c, reason: r.error ?? 'did not run' });
      continue;
    }
    if (!isSupported(r.version)) {
      tried.push({ candidate: c, reason: `is Python ${r.version.join('.')}; Interleave needs ${MIN_PYTHON.join('.')} or newer` });
      continue;
    }
    return { ok: true, path: c.path, source: c.source, version: r.version, skipped: tried };
  }
  const detail = tried.map((t) => `${t.candidate.path} (from ${SOURCE_NAMES[t.candidate.source]}) ${t.reason}`).join('; ');
  const tooOld = tried.some((t) => t.reason.includes('needs'));
  const message = tooOld
    ? `Interleave needs Python ${MIN_PYTHON.join('.')} or newer. ${detail}.`
    : `Interleave could not find a Python interpreter. ${detail || 'No candidates'}.`;
  return { ok: false, message, tried };
}

/** Runs `<python> -c 'print version'` with a timeout. */
export function probePython(path: string, timeoutMs = 10_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(path, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ ok: false, error: code === 'ENOENT' ? 'was not found' : `failed to run (${err.message.split('\n')[0]})` });
        return;
      }
      const version = parseVersion(String(stdout));
      resolve(version ? { ok: true, version } : { ok: false, error: `printed no version (${String(stdout).slice(0, 80)})` });
    });
  });
}
