/**
 * `interleave lint [--json] PATHS...`: the language server's analysis for CI and other editors.
 * Folders are walked for *.py; files are read as bytes and decoded leniently (invalid UTF-8 becomes
 * U+FFFD) so one odd file never stops the run. Exit status: 1 with findings, 0 without, 2 on bad usage.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Finding } from '../../protocol/lsp';
import { PythonDocument } from '../analysis/document';
import { mayHaveFindings } from '../analysis/prefilter';
import { EntryIndex } from '../analysis/workspace';
import { MAX_IMPORT_DEPTH } from '../analysis/model';

const USAGE = 'usage: interleave lint [--json] PATHS...\n';
const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv', '.tox', '.mypy_cache']);

export interface FileFindings { file: string; findings: Finding[]; error?: string }

/** Python files under the given paths (folders walked, sorted for stable output). */
export function collectPythonFiles(paths: string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) { if (!SKIP_DIRS.has(e.name)) walk(full); } else if (e.isFile() && e.name.endsWith('.py')) files.push(full);
    }
  };
  for (const p of paths) {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch { missing.push(p); continue; }
    if (st.isDirectory()) walk(p); else files.push(p);
  }
  return { files, missing };
}

export function decodeLeniently(bytes: Buffer): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/**
 * Analyse files one after another, reusing one parser. Imports are followed: threads started in one file
 * on another file's functions, and calls that threaded code makes into other files, are handed to the
 * files they lead to (workspace.ts), which are analysed again with them until nothing changes. Files
 * outside the given paths that such a thread reaches (modules imported from the same roots) are analysed
 * and reported too. Each file is revisited at most MAX_IMPORT_DEPTH + 1 times, so import cycles end.
 */
export async function lintFiles(files: string[], onFile?: (r: FileFindings) => void, roots: string[] = []): Promise<FileFindings[]> {
  const results: FileFindings[] = [];
  const byPath = new Map<string, FileFindings>();
  const index = new EntryIndex(roots);
  let doc: PythonDocument | undefined;
  const analyse = async (text: string, external: ReturnType<EntryIndex['entriesFor']>) => {
    if (!doc) doc = await PythonDocument.create(text);
    else doc.update([{ text }]);
    return doc.analyse({ external });
  };
  const changed = new Set<string>();
  const run = async (r: FileFindings, external: ReturnType<EntryIndex['entriesFor']>) => {
    try {
      // Read again rather than keeping every text in memory (few files get past the first pass).
      const text = decodeLeniently(fs.readFileSync(r.file));
      if (!external.length && !mayHaveFindings(text)) { r.findings = []; return; } // nothing to look for (prefilter.ts)
      const out = await analyse(text, external);
      for (const t of index.update(path.resolve(r.file), out.outgoing)) changed.add(t);
      r.findings = out.issues.map(toFinding);
      r.error = undefined;
    } catch (err) {
      r.findings = [];
      r.error = err instanceof Error ? err.message : String(err);
    }
  };
  for (const file of files) {
    const r: FileFindings = { file, findings: [] };
    results.push(r);
    byPath.set(path.resolve(file), r);
    await run(r, []);
  }
  const visits = new Map<string, number>();
  while (changed.size) {
    const batch = [...changed].sort();
    changed.clear();
    for (const target of batch) {
      const n = visits.get(target) ?? 0;
      if (n > MAX_IMPORT_DEPTH) continue;
      visits.set(target, n + 1);
      let r = byPath.get(target);
      if (!r) {
        // A module outside the given paths that a thread reaches: analysed and reported as well.
        if (!fs.existsSync(target)) continue;
        r = { file: path.relative(process.cwd(), target) || target, findings: [] };
        results.push(r);
        byPath.set(target, r);
      }
      await run(r, index.entriesFor(target));
    }
  }
  doc?.dispose();
  for (const r of results) onFile?.(r);
  return results;
}

/** The protocol shape only (quick-fix hints and hover text stay inside the server). */
export function toFinding(i: Finding): Finding {
  return { code: i.code, message: i.message, range: i.range, severity: i.severity, related: i.related, names: i.names };
}

export async function runLint(args: string[]): Promise<number> {
  let json = false;
  const paths: string[] = [];
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') { process.stdout.write(USAGE); return 0; }
    else if (a.startsWith('-') && a !== '-') { process.stderr.write(`interleave lint: unknown option '${a}'\n${USAGE}`); return 2; }
    else paths.push(a);
  }
  if (!paths.length) { process.stderr.write(`interleave lint: no paths given\n${USAGE}`); return 2; }
  const { files, missing } = collectPythonFiles(paths);
  for (const m of missing) process.stderr.write(`interleave lint: ${m}: no such file or directory\n`);
  if (missing.length) return 2;
  let count = 0;
  const roots = paths.filter((p) => { try { return fs.statSync(p).isDirectory(); } catch { return false; } }).map((p) => path.resolve(p));
  const results = await lintFiles(files, (r) => {
    if (r.error) process.stderr.write(`interleave lint: ${r.file}: ${r.error}\n`);
    count += r.findings.length;
    if (json) return;
    for (const f of r.findings) {
      process.stdout.write(`${r.file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.code} ${f.message}\n`);
    }
  }, [...roots, process.cwd()]);
  if (json) {
    const out = results.filter((r) => r.findings.length || r.error).map((r) => ({ file: path.resolve(r.file), findings: r.findings, ...(r.error ? { error: r.error } : {}) }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
  return count > 0 ? 1 : 0;
}
