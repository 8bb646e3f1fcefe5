/**
 * Finding every process of a traced run, so Stop can end the whole tree: the program, fork children,
 * multiprocessing workers and subprocesses. Linux exposes parentage in /proc/<pid>/stat; a process whose
 * parent died is re-parented (to init or a subreaper), so we also recognise run members by the run token
 * in their environment, which every child inherits.
 *
 * The parsing and tree walk are pure (tested on made-up listings); reading /proc is in `readProcTable`.
 */
import * as fs from 'fs';

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** Process state letter from stat ('Z' = zombie: already dead, only waiting to be reaped). */
  state: string;
  /** Whether its environment carries this run's token (undefined when not checked or unreadable). */
  hasToken?: boolean;
}

/**
 * Parses the content of /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself
 * contain spaces and ')' — so split after the LAST ')'.
 */
export function parseStat(text: string): ProcEntry | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(ppid) || ppid < 0 || !state) return undefined;
  return { pid, ppid, state };
}

/**
 * The processes that belong to the run rooted at `root`: `root`, its descendants, and anything carrying the
 * run token (orphans), plus their descendants. Zombies are left out: they are dead already.
 */
export function runMembers(table: readonly ProcEntry[], root: number | undefined): number[] {
  const children = new Map<number, number[]>();
  const byPid = new Map<number, ProcEntry>();
  for (const p of table) {
    byPid.set(p.pid, p);
    let list = children.get(p.ppid);
    if (!list) children.set(p.ppid, (list = []));
    list.push(p.pid);
  }
  const seen = new Set<number>();
  const stack: number[] = [];
  if (root !== undefined && byPid.has(root)) stack.push(root);
  for (const p of table) if (p.hasToken) stack.push(p.pid);
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return [...seen].filter((pid) => byPid.get(pid)?.state !== 'Z').sort((a, b) => a - b);
}

/** Reads /proc (Linux). `token` marks processes whose environment contains INTERLEAVE_TOKEN=<token>. */
export function readProcTable(token?: string, procDir = '/proc'): ProcEntry[] | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(procDir);
  } catch {
    return undefined; // no /proc (macOS, Windows)
  }
  const needle = token ? Buffer.from(`INTERLEAVE_TOKEN=${token}\0`) : undefined;
  const out: ProcEntry[] = [];
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const entry = parseStat(fs.readFileSync(`${procDir}/${name}/stat`, 'utf8'));
      if (!entry) continue;
      if (needle) {
        try {
          const env = fs.readFileSync(`${procDir}/${name}/environ`);
          // environ entries are each NUL-terminated, the last one included.
          entry.hasToken = env.indexOf(needle) >= 0;
        } catch {
          entry.hasToken = false; // another user's process: not ours
        }
      }
      out.push(entry);
    } catch {
      // the process exited while we listed: skip it
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers kill(0) but is dead; /proc tells them apart where it exists.
  try {
    const e = parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return e?.state !== 'Z';
  } catch {
    return true;
  }
}

export interface KillResult {
  /** Pids signalled. */
  signalled: number[];
  /** Pids that needed SIGKILL after the grace period. */
  killed: number[];
  /** Pids still alive at the end (should be empty). */
  survivors: number[];
}

/**
 * SIGTERM to every member (children first, so a pool's parent does not respawn workers we already
 * stopped), then SIGKILL whatever is still alive after `graceMs`. Re-lists the tree before the SIGKILL
 * round because processes may have forked meanwhile.
 */
export async function killRunTree(root: number | undefined, token: string, graceMs = 2000): Promise<KillResult> {
  const list = (): number[] => {
    const table = readProcTable(token);
    if (!table) return root !== undefined && isAlive(root) ? [root] : [];
    return runMembers(table, root).filter((pid) => pid !== process.pid);
  };
  const signal = (pids: number[], sig: NodeJS.Signals): number[] => {
    const done: number[] = [];
    for (const pid of [...pids].reverse()) {
      try {
        process.kill(pid, sig);
        done.push(pid);
      } catch {
        // already gone
      }
    }
    return done;
  };
  const signalled = signal(list(), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let alive = list();
  while (alive.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50)); // polling the OS for exit; there is no exit event for non-children
    alive = list();
  }
  const killed = signal(alive, 'SIGKILL');
  const end = Date.now() + 2000;
  let survivors = list();
  while (survivors.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    survivors = list();
  }
  return { signalled, killed, survivors };
}
