/**
 * Builds the workspace EntryIndex in the background: every *.py under the workspace folders that can
 * start threads or processes is analysed once for its outgoing entry points (imports followed), one file
 * per event-loop turn so requests keep being answered meanwhile.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PythonDocument } from '../analysis/document';
import { ENTRY_TOKENS } from '../analysis/prefilter';
import { EntryIndex } from '../analysis/workspace';
import { MAX_IMPORT_DEPTH } from '../analysis/model';

const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv', '.tox', '.mypy_cache', 'site-packages', 'dist', 'build']);
/** Big workspaces: index at most this many files (the open documents always take part). */
const MAX_FILES = 5000;
const MAX_BYTES = 2 * 1024 * 1024;

function pythonFiles(roots: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (out.length >= MAX_FILES) return;
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (out.length >= MAX_FILES) return;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) { if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(full); } else if (e.isFile() && e.name.endsWith('.py')) out.push(full);
    }
  };
  for (const r of roots) walk(r);
  return out;
}

/**
 * Index the workspace; `skip(file)` says which files the caller keeps up to date itself (open documents).
 * Resolves with the target files whose entries changed.
 */
export async function indexWorkspace(index: EntryIndex, roots: string[], skip: (file: string) => boolean, log: (m: string) => void): Promise<Set<string>> {
  const changed = new Set<string>();
  const reader = new FileAnalyser(index, log);
  try {
    for (const file of pythonFiles(roots)) {
      await new Promise((r) => setImmediate(r));
      if (skip(file)) continue;
      for (const t of await reader.run(file, true)) changed.add(t);
    }
    for (const t of await followTargets(reader, changed, skip)) changed.add(t);
  } finally {
    reader.dispose();
  }
  return changed;
}

/**
 * Closed files that threads now reach (a changed set from EntryIndex.update) are analysed again with
 * their entries, so that calls they make further on are followed too; repeated until nothing changes,
 * each file at most MAX_IMPORT_DEPTH + 1 times (import cycles end). Resolves with every target changed
 * on the way, open documents included (the caller re-analyses those).
 */
export async function refreshClosedTargets(index: EntryIndex, targets: Set<string>, skip: (file: string) => boolean, log: (m: string) => void): Promise<Set<string>> {
  const reader = new FileAnalyser(index, log);
  try {
    return await followTargets(reader, targets, skip);
  } finally {
    reader.dispose();
  }
}

async function followTargets(reader: FileAnalyser, start: Set<string>, skip: (file: string) => boolean): Promise<Set<string>> {
  const all = new Set(start);
  let queue = [...start];
  const visits = new Map<string, number>();
  while (queue.length) {
    const next: string[] = [];
    for (const file of queue) {
      if (skip(file)) continue;
      const n = visits.get(file) ?? 0;
      if (n > MAX_IMPORT_DEPTH) continue;
      visits.set(file, n + 1);
      await new Promise((r) => setImmediate(r));
      for (const t of await reader.run(file, false)) { all.add(t); next.push(t); }
    }
    queue = next;
  }
  return all;
}

/** Reads and analyses closed files one at a time with one parser, feeding their outgoing entries to the index. */
class FileAnalyser {
  private doc: PythonDocument | undefined;

  constructor(private readonly index: EntryIndex, private readonly log: (m: string) => void) {}

  /** `startsOnly`: skip files that cannot start threads themselves (the first pass over the workspace). */
  async run(file: string, startsOnly: boolean): Promise<Set<string>> {
    let text: string;
    try {
      const st = fs.statSync(file);
      if (st.size > MAX_BYTES) return new Set();
      text = new TextDecoder('utf-8', { fatal: false }).decode(fs.readFileSync(file));
    } catch { return new Set(); }
    const external = this.index.entriesFor(file);
    if (startsOnly && !ENTRY_TOKENS.test(text)) return new Set();
    try {
      if (!this.doc) this.doc = await PythonDocument.create(text); else this.doc.update([{ text }]);
      return this.index.update(file, this.doc.analyse({ external }).outgoing);
    } catch (err) {
      this.log(`indexing ${file} failed: ${err instanceof Error ? err.message : String(err)}`);
      return new Set();
    }
  }

  dispose(): void {
    this.doc?.dispose();
    this.doc = undefined;
  }
}
