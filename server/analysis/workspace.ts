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
  }

  /** Replace what `file` starts in other files; returns the target files whose entries changed. */
  update(file: string, outgoing: ImportedEntry[]): Set<string> {
    const before = this.byStarter.get(file) ?? [];
    const after: { target: string; entry: ExternalEntry }[] = [];
    for (const o of outgoing) {
      const target = resolveModule(file, o.module, this.roots);
      if (!target || path.resolve(target) === path.resolve(file)) continue;
      after.push({ target: path.resolve(target), entry: { kind: o.kind, name: o.name, file, site: o.site, multi: o.multi, label: o.label } });
    }
    if (after.length) this.byStarter.set(file, after); else this.byStarter.delete(file);
    const key = (x: { target: string; entry: ExternalEntry }) => `${x.target}|${x.entry.name}|${x.entry.kind}|${x.entry.site.start.line}|${x.entry.multi}`;
    const was = new Set(before.map(key));
    const now = new Set(after.map(key));
    const changed = new Set<string>();
    for (const x of before) if (!now.has(key(x))) changed.add(x.target);
    for (const x of after) if (!was.has(key(x))) changed.add(x.target);
    return changed;
  }

  entriesFor(file: string): ExternalEntry[] {
    const target = path.resolve(file);
    const out: ExternalEntry[] = [];
    for (const list of this.byStarter.values()) for (const x of list) if (x.target === target) out.push(x.entry);
    return out;
  }
}
