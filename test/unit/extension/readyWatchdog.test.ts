import * as assert from 'assert';
import { ReadyWatchdog } from '../../../extension/run/readyWatchdog';

/** Timers the test fires by hand; records what the watchdog did. */
function harness(maxReloads = 2) {
  const timers = new Map<number, () => void>();
  let next = 1;
  const state = { visible: true, reloads: [] as number[], gaveUp: 0, delays: [] as number[] };
  const dog = new ReadyWatchdog({
    timeoutMs: 5000,
    maxReloads,
    isVisible: () => state.visible,
    reload: (n) => { state.reloads.push(n); },
    giveUp: () => { state.gaveUp++; },
    setTimer: (fn, ms) => { const id = next++; timers.set(id, fn); state.delays.push(ms); return id; },
    clearTimer: (h) => { timers.delete(h as number); },
  });
  const fire = (): void => {
    const fns = [...timers.values()];
    timers.clear();
    for (const f of fns) f();
  };
  return { dog, state, fire, pending: () => timers.size };
}

describe('extension/run/readyWatchdog', () => {
  it('does nothing when the page says it is ready in time', () => {
    const h = harness();
    h.dog.loading();
    assert.strictEqual(h.pending(), 1);
    assert.deepStrictEqual(h.state.delays, [5000]);
    h.dog.readySeen();
    assert.strictEqual(h.pending(), 0, 'the timer is cleared');
    h.fire();
    assert.deepStrictEqual(h.state.reloads, []);
  });

  it('reloads a visible page that never became ready, then gives up after the limit', () => {
    const h = harness(2);
    h.dog.loading();
    h.fire();
    assert.deepStrictEqual(h.state.reloads, [1]);
    h.fire();
    assert.deepStrictEqual(h.state.reloads, [1, 2]);
    h.fire();
    assert.deepStrictEqual(h.state.reloads, [1, 2], 'no third reload');
    assert.strictEqual(h.state.gaveUp, 1);
    assert.strictEqual(h.pending(), 0, 'nothing armed after giving up');
  });

  it('a ready page starts the count of reloads again', () => {
    const h = harness(1);
    h.dog.loading();
    h.fire();
    assert.deepStrictEqual(h.state.reloads, [1]);
    h.dog.readySeen();
    h.dog.hidden();
    h.dog.loading();     // shown again: a new page loads
    h.fire();
    assert.deepStrictEqual(h.state.reloads, [1, 1]);
    assert.strictEqual(h.state.gaveUp, 0);
  });

  it('does not reload a hidden panel, nor after being disposed', () => {
    const h = harness();
    h.dog.loading();
    h.dog.hidden();
    assert.strictEqual(h.pending(), 0, 'hiding disarms');
    h.dog.loading();
    h.state.visible = false;   // hidden without the event yet: the expiry checks
    h.fire();
    assert.deepStrictEqual(h.state.reloads, []);
    h.state.visible = true;
    h.dog.loading();
    h.dog.dispose();
    h.fire();
    h.dog.loading();
    assert.strictEqual(h.pending(), 0);
    assert.deepStrictEqual(h.state.reloads, []);
  });
});
