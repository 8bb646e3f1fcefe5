/**
 * Quick fixes as plain text edits (pure: text + issue in, edits out), so they are tested by applying
 * them and analysing the result again. The LSP layer only wraps them in CodeActions.
 */
import type { Range, RuleCode } from '../../protocol/lsp';
import { SUPPRESS_PATTERN } from '../../protocol/lsp';
import type { FixHint, Issue } from './rules';

export interface TextEdit { range: Range; newText: string }
export interface Fix { title: string; edits: TextEdit[]; preferred?: boolean }

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

function eol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/** The file's indentation step: the usual extra indent after a line ending in ':' (4 spaces if none). */
function indentUnit(lines: string[]): string {
  const votes = new Map<string, number>();
  for (let i = 0; i < lines.length - 1; i++) {
    if (!lines[i].trimEnd().endsWith(':')) continue;
    let j = i + 1;
    while (j < lines.length && !lines[j].trim()) j++;
    if (j >= lines.length) break;
    const outer = indentOf(lines[i]);
    const inner = indentOf(lines[j]);
    if (inner.length <= outer.length || !inner.startsWith(outer)) continue;
    const step = inner.slice(outer.length);
    votes.set(step, (votes.get(step) ?? 0) + 1);
  }
  let best = '    ';
  let n = 0;
  for (const [step, count] of votes) if (count > n) { best = step; n = count; }
  return best;
}

/** Replace whole lines [first, last] by `header` at their indentation followed by the lines indented one step. */
function wrapLines(text: string, first: number, last: number, header: string): TextEdit {
  const lines = splitLines(text);
  const nl = eol(text);
  const unit = indentUnit(lines);
  const indent = indentOf(lines[first] ?? '');
  const body = lines.slice(first, last + 1).map((l) => (l.trim() ? unit + l : l));
  return {
    range: { start: { line: first, character: 0 }, end: { line: last, character: (lines[last] ?? '').length } },
    newText: [indent + header, ...body].join(nl),
  };
}

/** Where a new module-level statement goes: after the imports (and module docstring), before the code. */
function moduleInsertLine(lines: string[]): number {
  let i = 0;
  // Shebang, encoding line and leading comments.
  while (i < lines.length && (lines[i].startsWith('#') || !lines[i].trim())) i++;
  // Module docstring.
  const doc = /^[rRuU]?("""|''')/.exec(lines[i] ?? '');
  if (doc) {
    const q = doc[1];
    const rest = lines[i].slice(doc[0].length);
    if (!rest.includes(q)) { i++; while (i < lines.length && !lines[i].includes(q)) i++; }
    i++;
  }
  let after = i;
  for (let j = i; j < lines.length; j++) {
    const l = lines[j];
    if (/^(def |class |async def |@|if |for |while |with |try:)/.test(l)) break;
    if (/^(import |from \S+ import )/.test(l)) {
      let k = j;
      if (l.includes('(') && !l.includes(')')) while (k + 1 < lines.length && !lines[k].includes(')')) k++;
      else while (l.endsWith('\\') && k + 1 < lines.length && lines[k].endsWith('\\')) k++;
      after = k + 1;
      j = k;
    }
  }
  return after;
}

function insertModuleLock(text: string, name: string): TextEdit {
  const lines = splitLines(text);
  const nl = eol(text);
  const line = moduleInsertLine(lines);
  const hasImport = /^import threading\s*(#.*)?$/m.test(text);
  const newText = `${hasImport ? '' : `import threading${nl}`}${name} = threading.Lock()${nl}`;
  return { range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: line >= lines.length ? nl + newText : newText };
}

function fixesFor(text: string, hint: FixHint): Fix[] {
  const lines = splitLines(text);
  switch (hint.kind) {
    case 'wrap': {
      const edits: TextEdit[] = [];
      if (hint.newLock) edits.push(insertModuleLock(text, hint.newLock.name));
      edits.push(wrapLines(text, hint.range.start.line, hint.range.end.line, `with ${hint.lock}:`));
      const title = hint.newLock
        ? `Wrap in 'with ${hint.lock}:' (new module-level threading.Lock())`
        : `Wrap in 'with ${hint.lock}:'`;
      return [{ title, edits, preferred: true }];
    }
    case 'guard':
      return [{ title: "Move under 'if __name__ == \"__main__\":'", edits: [wrapLines(text, hint.range.start.line, hint.range.end.line, 'if __name__ == "__main__":')], preferred: true }];
    case 'closeBeforeJoin': {
      const line = hint.joinStmt.start.line;
      const indent = indentOf(lines[line] ?? '');
      return [{
        title: `Call ${hint.receiver}.close() before join()`,
        edits: [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: `${indent}${hint.receiver}.close()${eol(text)}` }],
        preferred: true,
      }];
    }
    case 'replace':
      return [{ title: hint.title, edits: [{ range: hint.range, newText: hint.newText }], preferred: true }];
    case 'acquireToWith': {
      const first = hint.acquireStmt.start.line;
      const last = hint.releaseStmt.end.line;
      // Only when acquire() and release() stand alone on their lines (else editing lines would cut code).
      if (hint.acquireStmt.end.line !== first || hint.releaseStmt.start.line !== last) return [];
      const nl = eol(text);
      const unit = indentUnit(lines);
      const indent = indentOf(lines[first]);
      const body = lines.slice(first + 1, last).map((l) => (l.trim() ? unit + l : l));
      if (!body.some((l) => l.trim())) body.push(`${indent}${unit}pass`);
      return [{
        title: `Use 'with ${hint.lock}:' instead of acquire()/release()`,
        edits: [{ range: { start: { line: first, character: 0 }, end: { line: last, character: lines[last].length } }, newText: [`${indent}with ${hint.lock}:`, ...body].join(nl) }],
        preferred: true,
      }];
    }
  }
}

/** `# interleave: ignore[CODE]` at the end of the finding's first line (merged into an existing one). */
export function suppressFix(text: string, code: RuleCode, line: number): Fix {
  const lines = splitLines(text);
  const l = lines[line] ?? '';
  const m = SUPPRESS_PATTERN.exec(l);
  if (m && m.index !== undefined) {
    const codes = m[1] ? m[1].split(/[\s,]+/).filter(Boolean) : [];
    const replaced = `# interleave: ignore[${[...new Set([...codes, code])].join(', ')}]`;
    return {
      title: `Suppress ${code} on this line`,
      edits: [{ range: { start: { line, character: m.index }, end: { line, character: m.index + m[0].length } }, newText: replaced }],
    };
  }
  const trimmed = l.replace(/\s+$/, '');
  return {
    title: `Suppress ${code} on this line`,
    edits: [{ range: { start: { line, character: trimmed.length }, end: { line, character: l.length } }, newText: `  # interleave: ignore[${code}]` }],
  };
}

/** Every quick fix for an issue: the repair (if the rule has one), then the suppression. */
export function quickFixes(text: string, issue: Issue): Fix[] {
  const fixes = issue.fix ? fixesFor(text, issue.fix) : [];
  fixes.push(suppressFix(text, issue.code, issue.range.start.line));
  return fixes;
}

/** Apply non-overlapping edits (as an editor would), for tests and the CLI. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const offset = (p: { line: number; character: number }) =>
    p.line >= lineStarts.length ? text.length : Math.min(lineStarts[p.line] + p.character, p.line + 1 < lineStarts.length ? lineStarts[p.line + 1] - 1 : text.length);
  const sorted = edits.map((e) => ({ s: offset(e.range.start), e: offset(e.range.end), t: e.newText })).sort((a, b) => b.s - a.s || b.e - a.e);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.s) + e.t + out.slice(e.e);
  return out;
}
