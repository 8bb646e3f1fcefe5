import * as assert from 'assert';
import { spawn } from 'child_process';
import { isAlive, killRunTree, parseStat, readProcTable, runMembers } from '../../../extension/run/procTree';
import { newRunToken } from '../../../extension/run/token';

describe('extension/run/procTree', () => {
  it('parses /proc/<pid>/stat, including command names with spaces and parentheses', () => {
    assert.deepStrictEqual(parseStat('4711 (python3) S 4700 4711 4700 0 -1'), { pid: 4711, ppid: 4700, state: 'S' });
    assert.deepStrictEqual(parseStat('99 (my (odd) name) R 1 99 99'), { pid: 99, ppid: 1, state: 'R' });
    assert.strictEqual(parseStat('garbage'), undefined);
  });

  it('finds descendants of the root and token-carrying orphans, skipping zombies and strangers', () => {
    const table = [
      { pid: 1, ppid: 0, state: 'S' },
      { pid: 100, ppid: 1, state: 'S' }, // the supervisor
      { pid: 101, ppid: 100, state: 'S' }, // the program
      { pid: 102, ppid: 101, state: 'S' }, // a pool worker
      { pid: 103, ppid: 102, state: 'Z' }, // a zombie child: dead already
      { pid: 200, ppid: 1, state: 'S', hasToken: true }, // an orphan of the run (double fork)
      { pid: 201, ppid: 200, state: 'S' }, // its child without our env (cleared environment)
      { pid: 300, ppid: 1, state: 'S', hasToken: false }, // someone else's process
    ];
    assert.deepStrictEqual(runMembers(table, 100), [100, 101, 102, 200, 201]);
    assert.deepStrictEqual(runMembers(table, 999), [200, 201], 'an exited root leaves only token carriers');
  });

  it('ends a real process tree, including a child that ignores SIGTERM and an orphan', async function () {
    this.timeout(20_000);
    const token = newRunToken();
    // parent → child (ignores SIGTERM) and an orphaned grandchild (its parent exits at once).
    const py = `
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
subprocess.Popen([sys.executable, '-c', 'import subprocess, sys; subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])'])
print('started', flush=True)
time.sleep(60)
`;
    const root = spawn('python3', ['-c', py], { env: { ...process.env, INTERLEAVE_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => root.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('started')) resolve(); }));
    let members: number[] = [];
    // Wait (bounded) until the orphan's parent has exited: it then is a zombie (left out) and the orphan
    // hangs off init, found only through the token in its environment.
    let orphans: number[] = [];
    for (let i = 0; i < 100; i++) {
      const table = readProcTable(token)!;
      members = runMembers(table, root.pid);
      orphans = table.filter((p) => members.includes(p.pid) && p.pid !== root.pid && p.ppid !== root.pid).map((p) => p.pid);
      if (members.length === 3 && orphans.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.strictEqual(members.length, 3, `root, sleeper and orphan; got ${members.join(',')}`);
    assert.strictEqual(orphans.length, 1, 'the orphan is found by its token');
    const rootExit = new Promise((r) => root.on('exit', r));
    const r = await killRunTree(root.pid, token, 500);
    await rootExit;
    assert.deepStrictEqual(r.survivors, []);
    assert.ok(r.killed.includes(root.pid!), 'the SIGTERM-ignoring root needed SIGKILL');
    for (const pid of members) assert.ok(!isAlive(pid), `pid ${pid} is gone`);
  });
});
