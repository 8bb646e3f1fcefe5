/**
 * Imports followed across the workspace: which functions of one file are started as threads or
 * processes by another file (`from worker import run` … `Thread(target=run)`). Files report their
 * outgoing entries (ModuleModel.outgoing); the index resolves each module name to a file and hands the
 * entries to that file's analysis.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ExternalEntry, ImportedEntry } from './model';

/** The file a dotted module name refers to, from `fromFile`: relative imports, then each root. */
export function resolveModule(fromFile: string, module: string, roots: string[], exists: (p: string) => boolean = fs.existsSync): string | undefined {
  const dots = /^\.*/.exec(module)![0].length;
  const rel = module.slice(dots).split('.').filter(Boolean);
  const bases: string[] = [];
  if (dots) {
    let base = path.dirname(fromFile);
    for (let i = 1; i < dots; i++) base = path.dirname(base);
    bases.push(base);
  } else {
    bases.push(path.dirname(fromFile), ...roots);
  }
  for (const base of bases) {
    const stem = path.join(base, ...rel);
    for (const candidate of [`${stem}.py`, path.join(stem, '__init__.py')]) if (rel.length && exists(candidate)) return candidate;
  }
  return undefined;
}

export class EntryIndex {
  /** Importing file → its entries, resolved to target files. */
  private readonly byStarter = new Map<string, { target: string; entry: ExternalEntry }[]>();

  constructor(private roots: string[] = []) {}

  setRoots(roots: string[]): void {
    this.roots = roots;
    this.resolved.clear();
  }

  /** Replace what `file` starts in other files; returns the target files whose entries changed. */
  update(file: string, outgoing: ImportedEntry[]): Set<string> {
    const before = this.byStarter.get(file) ?? [];
    const after: { target: string; entry: ExternalEntry }[] = [];
    for (const o of outgoing) {
      const target = this.resolve(file, o.module);
      if (!target || path.resolve(target) === path.resolve(file)) continue;
      const entry: ExternalEntry = { kind: o.kind, name: o.name, file: o.originFile ?? file, site: o.site, multi: o.multi, label: o.label };
      if (o.via) { entry.via = { file, range: o.via }; entry.held = o.held; }
      if (o.depth) entry.depth = o.depth;
      after.push({ target: path.resolve(target), entry });
    }
    if (after.length) this.byStarter.set(file, after); else this.byStarter.delete(file);
    const key = (x: { target: string; entry: ExternalEntry }) => {
      const e = x.entry;
      const via = e.via ? `${e.via.file}@${e.via.range.start.line}:${e.via.range.start.character}:${e.held}` : '';
      return `${x.target}|${e.name}|${e.kind}|${e.file}|${e.site.start.line}:${e.site.start.character}|${e.multi}|${e.depth ?? 0}|${via}`;
    };
    const was = new Set(before.map(key));
    const now = new Set(after.map(key));
    const changed = new Set<string>();
    for (const x of before) if (!now.has(key(x))) changed.add(x.target);
    for (const x of after) if (!was.has(key(x))) changed.add(x.target);
    return changed;
  }

  /** Entries other files hand to `file`; one started in `file` itself (an import cycle) has file ''. */
  entriesFor(file: string): ExternalEntry[] {
    const target = path.resolve(file);
    const out: ExternalEntry[] = [];
    for (const list of this.byStarter.values()) {
      for (const x of list) if (x.target === target) out.push(path.resolve(x.entry.file) === target ? { ...x.entry, file: '' } : x.entry);
    }
    return out;
  }

  /** Files that receive entries (started in or called from threaded code of other files). */
  targets(): Set<string> {
    const out = new Set<string>();
    for (const list of this.byStarter.values()) for (const x of list) out.add(x.target);
    return out;
  }

  /**
   * Module resolution touches the file system; threaded code calls library modules (`time.sleep`) on
   * every analysis, so answers are kept per folder until the roots change or forget() is called.
   */
  private resolve(file: string, module: string): string | undefined {
    const k = `${path.dirname(file)}|${module}`;
    if (!this.resolved.has(k)) {
      if (this.resolved.size > 10000) this.resolved.clear();
      this.resolved.set(k, resolveModule(file, module, this.roots));
    }
    return this.resolved.get(k);
  }

  private readonly resolved = new Map<string, string | undefined>();

  /** Drop cached module resolutions (a Python file was created or deleted). */
  forget(): void {
    this.resolved.clear();
  }
}
