/** Every rule on its positive and negative fixtures, with exact ranges (test/fixtures/lint/rules). */
import * as assert from 'assert';
import * as fs from 'fs';
import { RULE_CODES } from '../../../protocol/lsp';
import { analyseText } from '../../../server/analysis/document';
import { RULE_FIXTURES, expectedFindings, fmt, readFixture } from './fixtures';

describe('lint rules on fixtures', () => {
  for (const code of RULE_CODES) {
    const base = code.toLowerCase();
    describe(code, () => {
      it('reports exactly the marked findings in the positive fixture', async () => {
        const text = readFixture(`${base}_pos.py`);
        const expected = expectedFindings(text).map(fmt).sort();
        assert.ok(expected.some((e) => e.startsWith(code)), 'the fixture marks at least one finding of this rule');
        const actual = (await analyseText(text)).map(fmt).sort();
        assert.deepStrictEqual(actual, expected);
      });

      it('reports nothing in the negative fixture', async () => {
        const text = readFixture(`${base}_neg.py`);
        const actual = (await analyseText(text)).map((f) => `${fmt(f)} ${f.message}`);
        assert.deepStrictEqual(actual, []);
      });
    });
  }

  describe('IL001: the main thread as a second writer (between start() and join())', () => {
    it('reports writes while the thread runs, on both sides, and none after join()', async () => {
      const text = readFixture('il001_main_pos.py');
      const issues = await analyseText(text);
      assert.deepStrictEqual(issues.map(fmt).sort(), expectedFindings(text).map(fmt).sort());
      const main = issues.find((i) => i.range.start.line === 19)!;
      assert.match(main.message, /the main thread \(while thread worker, started at line 19, runs, before its join\(\) at line 22\)/);
      assert.deepStrictEqual(main.related.map((r) => r.range.start.line + 1), [19, 12]);
    });

    it('reports nothing for writes before start(), after join() (a join loop included) or under the same lock', async () => {
      const actual = (await analyseText(readFixture('il001_main_neg.py'))).map((f) => `${fmt(f)} ${f.message}`);
      assert.deepStrictEqual(actual, []);
    });
  });

  describe('IL002 on a queue: a test of empty()/qsize()/full() before a blocking get()/put()', () => {
    it('reports the test when two threads can run it, with the blocking call as related information', async () => {
      const text = readFixture('il002_queue_pos.py');
      const issues = await analyseText(text);
      assert.deepStrictEqual(issues.map(fmt).sort(), expectedFindings(text).map(fmt).sort());
      const first = issues.find((i) => i.range.start.line === 8)!;
      assert.match(first.message, /^Check-then-act on queue `jobs`: another thread .* can take the last item between `jobs\.empty\(\)` and `jobs\.get\(\)` at line 10/);
      assert.match(first.message, /Use `jobs\.get_nowait\(\)` and catch `queue\.Empty`/);
      assert.deepStrictEqual(first.related[0].range.start.line + 1, 10);
      const put = issues.find((i) => i.names.includes('slots'))!;
      assert.match(put.message, /fill the last slot between `slots\.full\(\)` and `slots\.put\(\)`/);
    });

    it('reports nothing for non-blocking gets, gets with a timeout, or a queue only one thread takes from', async () => {
      const actual = (await analyseText(readFixture('il002_queue_neg.py'))).map((f) => `${fmt(f)} ${f.message}`);
      assert.deepStrictEqual(actual, []);
    });
  });

  it('has a fixture pair for every rule', () => {
    const files = fs.readdirSync(RULE_FIXTURES);
    for (const code of RULE_CODES) {
      assert.ok(files.includes(`${code.toLowerCase()}_pos.py`) && files.includes(`${code.toLowerCase()}_neg.py`), code);
    }
  });
});
