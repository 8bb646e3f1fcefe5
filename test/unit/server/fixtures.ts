/** Shared helpers for the server tests: fixture paths and `# expect[CODE]: token` markers. */
import * as fs from 'fs';
import * as path from 'path';
import type { Range, RuleCode } from '../../../protocol/lsp';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const RULE_FIXTURES = path.join(REPO, 'test', 'fixtures', 'lint', 'rules');

export function readFixture(name: string): string {
  return fs.readFileSync(path.join(RULE_FIXTURES, name), 'utf8');
}

export interface Expected { code: RuleCode; range: Range }

/** `# expect[IL001]: token` on a line: the finding covers exactly the first `token` of that line. */
export function expectedFindings(text: string): Expected[] {
  const out: Expected[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /#\s*expect\[(IL\d{3})\]:\s*(.+?)\s*$/.exec(line);
    if (!m) return;
    const col = line.indexOf(m[2]);
    if (col < 0 || col >= m.index!) throw new Error(`marker token '${m[2]}' not found before the marker on line ${i + 1}`);
    out.push({ code: m[1] as RuleCode, range: { start: { line: i, character: col }, end: { line: i, character: col + m[2].length } } });
  });
  return out;
}

export function fmt(f: { code: string; range: Range }): string {
  const r = f.range;
  return `${f.code} ${r.start.line + 1}:${r.start.character + 1}-${r.end.line + 1}:${r.end.character + 1}`;
}
