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
  const files = pythonFiles(roots);
  let doc: PythonDocument | undefined;
  try {
    for (const file of files) {
      await new Promise((r) => setImmediate(r));
      if (skip(file)) continue;
      let text: string;
      try {
        const st = fs.statSync(file);
        if (st.size > MAX_BYTES) continue;
        text = new TextDecoder('utf-8', { fatal: false }).decode(fs.readFileSync(file));
      } catch { continue; }
      if (!ENTRY_TOKENS.test(text)) continue;
      try {
        if (!doc) doc = await PythonDocument.create(text); else doc.update([{ text }]);
        for (const t of index.update(file, doc.analyse().outgoing)) changed.add(t);
      } catch (err) {
        log(`indexing ${file} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    doc?.dispose();
  }
  return changed;
}
