/** Incremental analysis: edits through tree.edit + reparse give the same findings as a fresh analysis. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { PythonDocument, TextChange, analyseText, offsetAt } from '../../../server/analysis/document';
import type { Issue } from '../../../server/analysis/rules';
import { REPO, fmt } from './fixtures';

const sample = (name: string) => fs.readFileSync(path.join(REPO, 'samples', name), 'utf8');
const summary = (issues: Issue[]) => issues.map((i) => `${fmt(i)} ${i.severity} ${i.message}`);

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function positionAt(text: string, offset: number) {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

describe('incremental document analysis', function () {
  // Heavy but bounded work (stdlib modules, 1 MB input); generous for a loaded CI machine.
  this.timeout(120_000);
  it('matches a fresh analysis after each of 150 random edits (reverting those that break the syntax)', async () => {
    const texts = ['bank_race.py', 'bank_lock.py', 'deadlock.py', 'mp_value_array.py', 'timer_threads.py'].map(sample).join('\n\n');
    const doc = await PythonDocument.create(texts);
    const random = rng(42);
    const snippets = ['x', '\n', '    ', '(', ')', ':', '', 'lock_a', 'balance'];
    const statements = ['pass', 'balance += 1', 'global balance', 'lock_a.acquire()', 'counter.value += 1', 'lost[1] = 2'];
    let text = texts;
    let compared = 0;
    let reverted = 0;
    const edit = (a: number, b: number, insert: string) => {
      const change: TextChange = { range: { start: positionAt(text, a), end: positionAt(text, b) }, text: insert };
      const removed = text.slice(a, b);
      text = text.slice(0, a) + insert + text.slice(b);
      doc.update([change]);
      assert.strictEqual(doc.source, text);
      return removed;
    };
    const compare = async (label: string) => {
      const incremental = doc.analyse();
      if (doc.hasSyntaxError) return false;
      compared++;
      assert.deepStrictEqual(summary(incremental.issues), summary(await analyseText(text)), label);
      return true;
    };
    try {
      for (let i = 0; i < 150; i++) {
        let a: number;
        let b: number;
        let insert: string;
        if (random() < 0.5) {
          // A new statement at the start of a random line, indented like that line.
          const lines = text.split('\n');
          const ln = Math.floor(random() * lines.length);
          a = b = lines.slice(0, ln).join('\n').length + (ln ? 1 : 0);
          insert = `${/^[ \t]*/.exec(lines[ln])![0]}${statements[Math.floor(random() * statements.length)]}\n`;
        } else {
          a = Math.floor(random() * text.length);
          b = Math.min(text.length, a + Math.floor(random() * 6));
          insert = snippets[Math.floor(random() * snippets.length)];
        }
        const removed = edit(a, b, insert);
        if (!(await compare(`after edit ${i}`))) {
          // Undo it as an editor would (another incremental edit) and compare again.
          edit(a, a + insert.length, removed);
          reverted++;
          assert.ok(await compare(`after undoing edit ${i}`), 'undo restores a parseable file');
        }
      }
    } finally {
      doc.dispose();
    }
    assert.ok(compared >= 150 && reverted >= 10, `compared ${compared}, reverted ${reverted}`);
  });

  it('walks only the changed top-level statement after a one-character edit', async () => {
    const fns = Array.from({ length: 50 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join('\n');
    const doc = await PythonDocument.create(`import threading\n\n${fns}\nthreading.Thread(target=f1).start()\n`);
    try {
      const first = doc.analyse();
      assert.strictEqual(first.unitsWalked, first.unitsTotal);
      const at = doc.source.indexOf('x + 25');
      doc.update([{ range: { start: positionAt(doc.source, at), end: positionAt(doc.source, at + 1) }, text: 'y' }]);
      const second = doc.analyse();
      assert.strictEqual(second.unitsTotal, first.unitsTotal);
      assert.strictEqual(second.unitsWalked, 1);
    } finally {
      doc.dispose();
    }
  });

  it('keeps findings of code inside a syntax error while the user types, at moved positions', async () => {
    const text = sample('bank_race.py');
    const doc = await PythonDocument.create(text);
    try {
      const before = doc.analyse().issues.find((i) => i.code === 'IL001' && i.names.includes('balance'));
      assert.ok(before);
      // Half-typed line above the race, in the same function: the function now has an ERROR node.
      const at = text.indexOf('    for _ in range(ROUNDS):');
      doc.update([{ range: { start: positionAt(text, at), end: positionAt(text, at) }, text: '    t = threading.Thread(target=update, args=(\n' }]);
      assert.ok(doc.hasSyntaxError);
      const during = doc.analyse().issues.find((i) => i.code === 'IL001' && i.names.includes('balance'));
      assert.ok(during, 'the finding is kept');
      assert.strictEqual(during.range.start.line, before.range.start.line + 1);
      assert.strictEqual(during.range.start.character, before.range.start.character);
    } finally {
      doc.dispose();
    }
  });

  it('applies several changes of one notification in order', async () => {
    const doc = await PythonDocument.create('a = 1\nb = 2\n');
    try {
      doc.update([
        { range: { start: { line: 0, character: 4 }, end: { line: 0, character: 5 } }, text: '10' },
        { range: { start: { line: 1, character: 0 }, end: { line: 1, character: 1 } }, text: 'c' },
        { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, text: 'd = "é😀"\n' },
      ]);
      assert.strictEqual(doc.source, 'a = 10\nc = 2\nd = "é😀"\n');
      assert.ok(!doc.hasSyntaxError);
    } finally {
      doc.dispose();
    }
  });

  it('honours rule settings and suppression comments', async () => {
    const text = sample('bank_race.py');
    const all = await analyseText(text);
    assert.ok(all.some((i) => i.code === 'IL001' && i.severity === 'warning'));
    assert.deepStrictEqual(await analyseText(text, { rules: { IL001: 'off' } }), []);
    assert.ok((await analyseText(text, { rules: { IL001: 'error' } })).every((i) => i.severity === 'error'));
    const lines = text.split('\n');
    const race = all.find((i) => i.names.includes('balance'))!;
    lines[race.range.start.line] += '  # interleave: ignore';
    assert.ok(!(await analyseText(lines.join('\n'))).some((i) => i.names.includes('balance')));
  });

  it('converts LSP positions to offsets with clamping', () => {
    assert.strictEqual(offsetAt('ab\ncd', { line: 1, character: 1 }), 4);
    assert.strictEqual(offsetAt('ab\ncd', { line: 0, character: 99 }), 2);
    assert.strictEqual(offsetAt('ab\ncd', { line: 9, character: 0 }), 5);
  });
});
