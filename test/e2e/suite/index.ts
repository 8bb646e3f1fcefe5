/**
 * Entry point VS Code loads as `extensionTestsPath` (compiled to JS by the launchers): runs the mocha
 * suite inside the extension host and reports every result as a tagged console line, which the
 * code-server launcher picks out of the browser console and the Electron launcher sees on stdout.
 */
import Mocha from 'mocha';
import { TAG } from './constants';
import { bridge } from './support';

export function run(): Promise<void> {
  const grep = bridge()?.grep;
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: Mocha.reporters.Base, ...(grep ? { grep } : {}) });
  // The suite is bundled into this file, so define mocha's globals (describe, it, ...) the way
  // mocha.addFile would, then load it.
  mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, 'interleave.e2e.ts', mocha);
  require('./interleave.e2e');
  return new Promise((resolve, reject) => {
    let passed = 0;
    let failed = 0;
    let pending = 0;
    const runner = mocha.run(() => {
      console.log(`${TAG} done ${passed} passed, ${failed} failed, ${pending} pending`);
      if (failed) reject(new Error(`${failed} e2e test(s) failed`));
      else resolve();
    });
    runner.on('pass', (t) => { passed++; console.log(`${TAG} pass ${t.fullTitle()} (${t.duration ?? 0} ms)`); });
    runner.on('pending', (t) => { pending++; console.log(`${TAG} pending ${t.fullTitle()}`); });
    runner.on('fail', (t, err: Error) => {
      failed++;
      console.log(`${TAG} fail ${t.fullTitle()}: ${err?.message ?? String(err)}\n${(err?.stack ?? '').split('\n').slice(1, 8).join('\n')}`);
    });
  });
}
