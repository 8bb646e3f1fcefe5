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
    // As the panel's reload does: it renders again, and a render calls loading().
    reload: (n) => { state.reloads.push(n); dog.loading(); },
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
    h.state.visible = false;
    h.dog.viewChanged();
    h.state.visible = true;
    h.dog.viewChanged();   // shown again: a new page loads
    assert.strictEqual(h.pending(), 1);
    h.fire();
    assert.deepStrictEqual(h.state.reloads, [1, 1]);
    assert.strictEqual(h.state.gaveUp, 0);
  });

  it('arms only when a hidden panel is shown, not when a visible one becomes active or moves', () => {
    const h = harness();
    h.dog.loading();
    h.dog.readySeen();
    h.dog.viewChanged();   // still visible (activated, or moved to another column): the page stays
    assert.strictEqual(h.pending(), 0);
    h.state.visible = false;
    h.dog.viewChanged();
    h.dog.viewChanged();   // still hidden
    assert.strictEqual(h.pending(), 0);
    h.state.visible = true;
    h.dog.viewChanged();
    assert.strictEqual(h.pending(), 1);
  });

  it('does not reload a hidden panel, nor after being disposed', () => {
    const h = harness();
    h.dog.loading();
    h.state.visible = false;
    h.dog.viewChanged();
    assert.strictEqual(h.pending(), 0, 'hiding disarms');
    h.dog.loading();       // rendered while hidden: the expiry checks
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
