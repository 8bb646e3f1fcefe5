/**
 * One Python document under analysis: its tree (edited and reparsed incrementally), the facts of its
 * top-level statements cached by their text, and the last findings (kept for code inside a syntax error
 * while the user is typing). Pure: no LSP, no files; text and edits in, findings out.
 */
import type { Parser, Tree, TreeCursor } from 'web-tree-sitter';
import { Edit } from 'web-tree-sitter';
import type { Position, Range, RuleCode, Severity, SeveritySetting } from '../../protocol/lsp';
import { RULE_CODES, SUPPRESS_PATTERN } from '../../protocol/lsp';
import { createPythonParser } from '../parse/python';
import type { Unit } from './facts';
import { Extractor } from './extract';
import { ENTRY_TOKENS, LOCAL_TOKENS } from './prefilter';
import { offsetAt } from './position';
import { ExternalEntry, ImportedEntry, ModuleModel } from './model';
import { Issue, hoverText, runRules } from './rules';

export { offsetAt };   // (its home is position.ts; the document's callers and tests import it from here)

export const DEFAULT_SEVERITY: Record<RuleCode, Severity> = {
  IL001: 'warning', IL002: 'warning', IL003: 'warning', IL004: 'warning', IL005: 'warning',
  IL006: 'error', IL007: 'error', IL008: 'warning', IL009: 'warning', IL010: 'warning', IL011: 'warning', IL012: 'warning', IL013: 'warning', IL014: 'error', IL015: 'error',
};

export interface RuleOptions {
  rules?: Partial<Record<RuleCode, SeveritySetting>>;
  /** Threads/processes other files start on this file's functions (workspace.ts). */
  external?: ExternalEntry[];
}

/** An LSP-style text change: replace `range` (absent = the whole text) with `text`. */
export interface TextChange { range?: Range; text: string }

export interface AnalysisOutput {
  issues: Issue[];
  parseMs: number;
  analyseMs: number;
  /** Top-level statements walked this time (the rest came from the cache). */
  unitsWalked: number;
  unitsTotal: number;
  /** Entry points this file starts on functions it imports (for the workspace index). */
  outgoing: ImportedEntry[];
}

/** Files above this size are analysed without the tree being kept for incremental edits. */
const MAX_TEXT = 8 * 1024 * 1024;

export class PythonDocument {
  private tree: Tree | null = null;
  private cache = new Map<string, Unit[]>();
  private lastIssues: Issue[] = [];
  private pendingParseMs = 0;
  private model: ModuleModel | undefined;

  private constructor(private parser: Parser, private text: string) {}

  static async create(text: string): Promise<PythonDocument> {
    const doc = new PythonDocument(await createPythonParser(), text);
    doc.reparse(null);
    return doc;
  }

  get source(): string { return this.text; }

  /** Whether the current text has a syntax error somewhere (an ERROR or MISSING node). */
  get hasSyntaxError(): boolean { return this.tree?.rootNode.hasError ?? false; }

  /** Apply LSP content changes in order: each edits the old tree, then one incremental reparse. */
  update(changes: TextChange[]): void {
    let incremental = this.tree !== null;
    for (const change of changes) {
      if (!change.range) {
        this.text = change.text;
        incremental = false;
        this.lastIssues = [];
        continue;
      }
      const startIndex = offsetAt(this.text, change.range.start);
      const oldEndIndex = offsetAt(this.text, change.range.end);
      const startPosition = pointAt(this.text, startIndex);
      const oldEndPosition = pointAt(this.text, oldEndIndex);
      const newText = this.text.slice(0, startIndex) + change.text + this.text.slice(oldEndIndex);
      const newEndIndex = startIndex + change.text.length;
      const newEndPosition = pointAt(newText, newEndIndex);
      if (incremental && this.tree) {
        this.tree.edit(new Edit({ startIndex, oldEndIndex, newEndIndex, startPosition, oldEndPosition, newEndPosition }));
      }
      shiftIssues(this.lastIssues, change.range, change.text);
      this.text = newText;
    }
    this.reparse(incremental ? this.tree : null);
  }

  private reparse(old: Tree | null): void {
    const t0 = performance.now();
    const text = this.text.length > MAX_TEXT ? this.text.slice(0, MAX_TEXT) : this.text;
    const tree = this.parser.parse(text, old ?? undefined) ?? this.parser.parse(text);
    if (old && old !== tree) old.delete();
    else if (!old && this.tree && this.tree !== tree) this.tree.delete();
    this.tree = tree;
    this.pendingParseMs += performance.now() - t0;
  }

  /** Findings for the current text; top-level statements unchanged since the last call are not walked again. */
  analyse(options: RuleOptions = {}): AnalysisOutput {
    const parseMs = this.pendingParseMs;
    this.pendingParseMs = 0;
    const t0 = performance.now();
    const root = this.tree?.rootNode;
    const units: Unit[] = [];
    const next = new Map<string, Unit[]>();
    let walked = 0;
    const errorRanges: Range[] = [];
    const extractor = new Extractor(this.text);
    const full = ENTRY_TOKENS.test(this.text) || !!options.external?.length;
    if (root) {
      // A cursor, not root.namedChildren: building a JS node per top-level statement costs more than
      // the cache lookup it feeds; nodes are only made for statements that need walking.
      const cursor = root.walk();
      try {
        if (cursor.gotoFirstChild()) {
          do {
            if (!cursor.nodeIsNamed || cursor.nodeType === 'comment') continue;
            const unit = this.unitFor(cursor, extractor, next, full, () => walked++);
            units.push(unit);
            if (unit.hasError) errorRanges.push(unit.topStatements[0].range);
          } while (cursor.gotoNextSibling());
        }
      } finally {
        cursor.delete();
      }
    }
    this.cache = next;
    const model = new ModuleModel(units, this.text, options.external);
    this.model = model;
    const tops = units.flatMap((u) => u.topStatements);
    let issues = runRules(model, tops);
    if (errorRanges.length) {
      // Keep what was found before in code the parser cannot read now (the user is mid-edit there).
      const inError = (r: Range) => errorRanges.some((e) => le(e.start, r.start) && le(r.start, e.end));
      issues = issues.filter((i) => !inError(i.range));
      const seen = new Set(issues.map(issueId));
      for (const old of this.lastIssues) if (inError(old.range) && !seen.has(issueId(old))) issues.push({ ...old, fix: undefined });
    }
    issues = applySuppressions(issues, this.text);
    this.lastIssues = structuredClone(issues); // shifted in place by later edits; callers keep theirs
    const out = applySeverity(issues, options);
    out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character || a.code.localeCompare(b.code));
    return { issues: out, parseMs, analyseMs: performance.now() - t0, unitsWalked: walked, unitsTotal: units.length, outgoing: model.outgoing };
  }

  private unitFor(cursor: TreeCursor, extractor: Extractor, next: Map<string, Unit[]>, full: boolean, onWalk: () => void): Unit {
    const body = this.text.slice(cursor.startIndex, cursor.endIndex);
    const start = cursor.startPosition;
    // Without any way to start concurrent code in the file, only lock and async statements matter (prefilter.ts).
    const walk = full || LOCAL_TOKENS.test(body);
    const key = `${walk ? 'W' : 'S'}${start.column}\u0000${body}`;
    const row = start.row;
    const pool = this.cache.get(key);
    let unit = pool?.pop();
    if (unit) {
      const delta = row - unit.topStatements[0].range.start.line;
      if (delta) for (const r of unit.ranges) { r.start.line += delta; r.end.line += delta; }
    } else if (walk) {
      onWalk();
      const node = cursor.currentNode;
      try {
        unit = extractor.extract(node);
      } catch (err) {
        // Pathological input (say, thousands of nested brackets) can exhaust the JS stack while walking:
        // lose this statement's facts, keep the rest of the file.
        if (!(err instanceof RangeError)) throw err;
        unit = extractor.skeleton(node);
      }
    } else {
      unit = extractor.skeleton(cursor.currentNode);
    }
    const list = next.get(key) ?? [];
    list.push(unit);
    next.set(key, list);
    return unit;
  }

  /**
   * Hover for shared state that has a finding: which threads and functions touch it. Positions refer to
   * the text of the last analyse() call.
   */
  hoverAt(pos: Position): { markdown: string; range: Range } | undefined {
    if (!this.model) return undefined;
    const within = (r: Range) => le(r.start, pos) && le(pos, r.end);
    const keys = new Map<string, Issue>();
    for (const i of this.lastIssues) if (i.sharedKey && !keys.has(i.sharedKey)) keys.set(i.sharedKey, i);
    for (const [key, issue] of keys) {
      const { hover, ranges } = hoverText(this.model, key);
      const hit = within(issue.range) ? issue.range : ranges.find(within);
      if (hit) return { markdown: hover, range: { start: { ...hit.start }, end: { ...hit.end } } };
    }
    return undefined;
  }

  dispose(): void {
    this.tree?.delete();
    this.tree = null;
    this.parser.delete();
    this.cache.clear();
  }
}

/** One-shot analysis of a text (the CLI, tests). */
export async function analyseText(text: string, options: RuleOptions = {}): Promise<Issue[]> {
  const doc = await PythonDocument.create(text);
  try {
    return doc.analyse(options).issues;
  } finally {
    doc.dispose();
  }
}

function issueId(i: Issue): string {
  return `${i.code}:${i.range.start.line}:${i.range.start.character}`;
}

function applySuppressions(issues: Issue[], text: string): Issue[] {
  if (!text.includes('interleave:')) return issues;
  const lines = text.split(/\r\n|\r|\n/);
  return issues.filter((i) => {
    for (const ln of [i.range.start.line, i.range.end.line]) {
      const m = SUPPRESS_PATTERN.exec(lines[ln] ?? '');
      if (!m) continue;
      if (!m[1]) return false;
      if (m[1].split(/[\s,]+/).includes(i.code)) return false;
    }
    return true;
  });
}

function applySeverity(issues: Issue[], options: RuleOptions): Issue[] {
  const out: Issue[] = [];
  for (const i of issues) {
    const setting = options.rules?.[i.code];
    if (setting === 'off') continue;
    out.push({ ...i, severity: setting && RULE_CODES.includes(i.code) ? setting : i.baseSeverity ?? DEFAULT_SEVERITY[i.code] });
  }
  return out;
}

// ---- positions -----------------------------------------------------------------------------------

function le(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}


function pointAt(text: string, index: number): { row: number; column: number } {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: index - lineStart };
}

/** Move kept findings after an edit so they still point at the same code. */
function shiftIssues(issues: Issue[], range: Range, inserted: string): void {
  const lines = inserted.split('\n');
  const lineDelta = lines.length - 1 - (range.end.line - range.start.line);
  const lastLen = lines[lines.length - 1].length;
  const move = (p: Position) => {
    if (le(p, range.start)) return;
    if (!le(range.end, p)) { p.line = range.start.line; p.character = range.start.character; return; }
    if (p.line === range.end.line) {
      p.character = (lines.length === 1 ? range.start.character + lastLen : lastLen) + (p.character - range.end.character);
    }
    p.line += lineDelta;
  };
  for (const i of issues) {
    move(i.range.start); move(i.range.end);
    for (const r of i.related) { move(r.range.start); move(r.range.end); }
  }
}
