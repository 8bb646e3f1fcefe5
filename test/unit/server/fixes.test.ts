/** Quick fixes: apply each edit, analyse again, and check the finding is gone and the code still parses. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { PythonDocument, analyseText } from '../../../server/analysis/document';
import { applyEdits, quickFixes } from '../../../server/analysis/fixes';
import type { Issue } from '../../../server/analysis/rules';
import { REPO, RULE_FIXTURES } from './fixtures';

async function analyse(text: string): Promise<{ issues: Issue[]; broken: boolean }> {
  const doc = await PythonDocument.create(text);
  try {
    return { issues: doc.analyse().issues, broken: doc.hasSyntaxError };
  } finally {
    doc.dispose();
  }
}

const lineOf = (text: string, issue: Issue) => text.split('\n')[issue.range.start.line].trim();

/**
 * Whether the finding survived an edit that may have moved lines: findings with the same rule, names and
 * source line text are counted (lines can repeat), and there must be one fewer after the fix.
 */
function stillThere(before: string, issue: Issue, beforeIssues: Issue[], after: string, afterIssues: Issue[]): boolean {
  const like = (text: string) => (i: Issue) => i.code === issue.code && i.names.join() === issue.names.join() && lineOf(text, i) === lineOf(before, issue);
  return afterIssues.filter(like(after)).length >= beforeIssues.filter(like(before)).length;
}

async function checkEveryFix(text: string, label: string, kinds: { repaired: number; suppressed: number }) {
  const { issues } = await analyse(text);
  for (const issue of issues) {
    for (const fix of quickFixes(text, issue)) {
      const fixed = applyEdits(text, fix.edits);
      const after = await analyse(fixed);
      const where = `${label}: ${issue.code} line ${issue.range.start.line + 1}, fix "${fix.title}"`;
      assert.ok(!after.broken, `${where} leaves a syntax error:\n${fixed}`);
      assert.ok(!stillThere(text, issue, issues, fixed, after.issues), `${where} did not remove the finding:\n${fixed}`);
      if (fix.title.startsWith('Suppress')) kinds.suppressed++; else kinds.repaired++;
    }
  }
}

describe('quick fixes', () => {
  it('repairs or suppresses every finding of every positive fixture', async () => {
    const kinds = { repaired: 0, suppressed: 0 };
    for (const f of fs.readdirSync(RULE_FIXTURES).filter((n) => n.endsWith('_pos.py'))) {
      await checkEveryFix(fs.readFileSync(path.join(RULE_FIXTURES, f), 'utf8'), f, kinds);
    }
    assert.ok(kinds.repaired >= 12, `only ${kinds.repaired} repairing fixes were exercised`);
    assert.ok(kinds.suppressed >= 20, `only ${kinds.suppressed} suppressions were exercised`);
  });

  it("wraps bank_race.py's read-modify-write in a new module-level lock", async () => {
    const text = fs.readFileSync(path.join(REPO, 'samples', 'bank_race.py'), 'utf8');
    const { issues } = await analyse(text);
    const race = issues.find((i) => i.code === 'IL001' && i.names.includes('balance'));
    assert.ok(race, 'IL001 on balance');
    const fix = quickFixes(text, race).find((f) => f.title.startsWith('Wrap'));
    assert.ok(fix);
    const fixed = applyEdits(text, fix.edits);
    assert.match(fixed, /^balance_lock = threading\.Lock\(\)$/m);
    // The whole read…write span moved under the lock, one level deeper.
    assert.match(fixed, /\n        with balance_lock:\n            current = balance {8}# read\n/);
    assert.match(fixed, /\n            balance = current \+ amount {2}# write/);
    const after = await analyse(fixed);
    assert.ok(!after.issues.some((i) => i.code === 'IL001' && i.names.includes('balance')));
  });

  it('uses a lock that is already in scope instead of adding one', async () => {
    const text = [
      'import threading',
      'lock = threading.Lock()',
      'count = 0',
      'def work():',
      '    global count',
      '    count += 1',
      'for _ in range(2):',
      '    threading.Thread(target=work).start()',
      '',
    ].join('\n');
    const [issue] = await analyseText(text);
    const [fix] = quickFixes(text, issue);
    assert.strictEqual(fix.title, "Wrap in 'with lock:'");
    assert.strictEqual(applyEdits(text, fix.edits).split('\n').slice(4, 7).join('\n'), '    global count\n    with lock:\n        count += 1');
  });

  it('turns acquire()/release() into with', async () => {
    const text = 'import threading\nlock = threading.Lock()\nitems = []\ndef f(x):\n    lock.acquire()\n    items.append(int(x))\n    lock.release()\n';
    const [issue] = await analyseText(text);
    assert.strictEqual(issue.code, 'IL003');
    const fix = quickFixes(text, issue).find((f) => f.title.startsWith('Use'));
    assert.ok(fix);
    assert.strictEqual(applyEdits(text, fix.edits), 'import threading\nlock = threading.Lock()\nitems = []\ndef f(x):\n    with lock:\n        items.append(int(x))\n');
  });

  it('passes a called target itself (its arguments into args) and makes a parenthesised args a tuple', async () => {
    const text = [
      'import threading',
      'def greet(name, times):',
      '    print(name, times)',
      'def work():',
      '    pass',
      'for i in range(2):',
      '    threading.Thread(target=greet("ann", 2)).start()',
      '    threading.Thread(target=work()).start()',
      '    threading.Thread(target=greet, args=(i)).start()',
      '',
    ].join('\n');
    const { issues } = await analyse(text);
    const fixed = (code: string, line: number) => {
      const issue = issues.find((i) => i.code === code && i.range.start.line === line)!;
      const [fix] = quickFixes(text, issue);
      return { title: fix.title, line: applyEdits(text, fix.edits).split('\n')[line].trim() };
    };
    assert.deepStrictEqual(fixed('IL014', 6), { title: 'Pass greet itself as the target', line: 'threading.Thread(target=greet, args=("ann", 2)).start()' });
    assert.deepStrictEqual(fixed('IL014', 7), { title: 'Pass work itself as the target', line: 'threading.Thread(target=work).start()' });
    assert.deepStrictEqual(fixed('IL015', 8), { title: 'Make it a one-element tuple: (i,)', line: 'threading.Thread(target=greet, args=(i,)).start()' });
  });

  it('merges a code into an existing suppression comment', async () => {
    const text = 'import asyncio, time\nasync def f():\n    time.sleep(1)  # interleave: ignore[IL001]\n';
    const [issue] = await analyseText(text);
    assert.strictEqual(issue.code, 'IL010');
    const fix = quickFixes(text, issue).find((f) => f.title.startsWith('Suppress'))!;
    assert.strictEqual(applyEdits(text, fix.edits).split('\n')[2], '    time.sleep(1)  # interleave: ignore[IL001, IL010]');
    assert.deepStrictEqual(await analyseText(applyEdits(text, fix.edits)), []);
  });
});
