import * as assert from 'assert';
import { TraceEvent } from '../../../protocol';
import { counterSteps, forEachVisibleSpan, intervalTag, pointRuns, SortedSpans, TAG_OPEN_ITEM, tagObj, tagState, tickGroup, TICK_GROUPS, TimelineModel } from '../../../webview/model';

describe('webview model: ticks and counter steps for drawing', () => {
  /** Points at the given times, tagged with their group. */
  const points = (list: [number, number, string][]) => {
    const s = new SortedSpans<string>();
    for (const [ts, tag, name] of list) s.add(ts, ts, name, tag);
    return s;
  };

  it('keeps tags beside their spans when a late span is spliced in', () => {
    const s = points([[0, 1, 'a'], [20, 2, 'c']]);
    s.add(10, 10, 'b', 7);
    assert.deepStrictEqual(s.items, ['a', 'b', 'c']);
    assert.deepStrictEqual(s.tags, [1, 7, 2]);
  });

  it('joins ticks of one group that touch into a run, counting every point', () => {
    const s = points([[0, 0, 'a'], [5, 0, 'b'], [10, 0, 'c'], [15, 0, 'd'], [100, 0, 'far']]);
    // 10 µs per pixel, runs joined within 2 px (20 µs): 0..15 is one run, 100 its own.
    const runs = pointRuns(s, 0, 200, 10, 20);
    assert.deepStrictEqual(runs.map((r) => [r.start, r.end, r.merged, r.item]), [[0, 15, 4, 'a'], [100, 100, 1, 'far']]);
  });

  it('lets a point of another group that shares the run\'s last pixel column be covered by it, so runs never outnumber columns', () => {
    // Alternating groups 1 µs apart at 10 µs per pixel: one run per pixel column at most.
    const list: [number, number, string][] = [];
    for (let i = 0; i < 1000; i++) list.push([i, i % 2, `p${i}`]);
    const runs = pointRuns(points(list), 0, 1000, 10, 20);
    assert.ok(runs.length <= 100 + 1, `${runs.length} runs for 100 columns`);
    assert.strictEqual(runs.reduce((n, r) => n + r.merged, 0), 1000, 'every point is counted once');
  });

  it('starts a new run where the group changes, so an exception among messages keeps its own tick', () => {
    const s = points([[0, 0, 'send'], [10, 0, 'recv'], [20, 1, 'exception'], [30, 0, 'send']]);
    const runs = pointRuns(s, 0, 100, 10, 20);
    assert.deepStrictEqual(runs.map((r) => [r.item, r.start, r.end]), [['send', 0, 10], ['exception', 20, 20], ['send', 30, 30]]);
  });

  it('draws every point on its own when zoomed in, and skips points that are filtered out', () => {
    const s = points([[0, 0, 'a'], [50, 0, 'b'], [100, 0, 'c']]);
    assert.strictEqual(pointRuns(s, 0, 100, 1, 2).length, 3);
    assert.deepStrictEqual(pointRuns(s, 0, 100, 1, 2, (x) => x !== 'b').map((r) => r.item), ['a', 'c']);
    assert.deepStrictEqual(pointRuns(s, 40, 60, 1, 2).map((r) => r.item), ['b']);
  });

  it('tags each instant with its tick group as the model stores it', () => {
    const m = new TimelineModel();
    const ev = (k: TraceEvent['k'], ts: number): TraceEvent => ({ k, ph: 'i', ts, pid: 1, tid: 1 });
    m.append([ev('msg.send', 0), ev('exception', 10), ev('msg.recv', 20)]);
    const inst = m.lane('1/1')!.instants;
    assert.deepStrictEqual(inst.tags.map((t) => TICK_GROUPS[t]), ['message', 'error', 'message']);
    assert.deepStrictEqual(inst.items.map((i) => i.k), ['msg.send', 'exception', 'msg.recv']);
    assert.strictEqual(tickGroup('shared.write'), TICK_GROUPS.indexOf('write'));
    assert.strictEqual(TICK_GROUPS[tickGroup('lock.create')], 'other');
  });

  it('packs an interval\'s state and lock into its style tag, and falls back to the item for ids too large to pack', () => {
    for (const [state, obj] of [['hold', 5], ['wait', 0], ['hold', 1000 * 4194304 + 3], ['blocked', 7], ['running', undefined]] as const) {
      const tag = intervalTag(state, obj);
      assert.strictEqual(tagState(tag), state);
      assert.strictEqual(tagObj(tag), state === 'hold' || state === 'wait' ? obj : undefined);
    }
    assert.notStrictEqual(intervalTag('hold', 1), intervalTag('hold', 2), 'locks are told apart');
    assert.notStrictEqual(intervalTag('hold', 1), intervalTag('wait', 1), 'holding is told from waiting');
    assert.strictEqual(intervalTag('hold', 2 ** 52), TAG_OPEN_ITEM);
    assert.strictEqual(tagState(TAG_OPEN_ITEM), undefined);
  });

  it('stores intervals with their style tags and hands them to drawing with each span and block', () => {
    const m = new TimelineModel();
    const ev = (k: TraceEvent['k'], ts: number, obj?: number): TraceEvent => ({ k, ph: 'X', ts, dur: 5, pid: 1, tid: 1, obj });
    m.append([ev('lock.hold', 0, 3), ev('lock.wait', 10, 4), ev('thread.sleep', 20)]);
    const row = m.lane('1/1')!.rows[0];
    assert.deepStrictEqual(row.tags, [intervalTag('hold', 3), intervalTag('wait', 4), intervalTag('sleep', undefined)]);
    const seen: [number, number, number][] = [];
    forEachVisibleSpan(row, 0, 100, 0, 100, undefined, (_s, _e, _item, merged, _last, tag, lastTag) => seen.push([merged, tag, lastTag]));
    assert.deepStrictEqual(seen, row.tags.map((t) => [1, t, t]));
    const blocks: [number, number, number][] = [];
    forEachVisibleSpan(row, 0, 100, 50, 100, undefined, (_s, _e, _item, merged, _last, tag, lastTag) => blocks.push([merged, tag, lastTag]));
    assert.deepStrictEqual(blocks, [[3, row.tags[0], row.tags[2]]], 'a merged block carries its first and last tags');
  });

  it('gives a counter one step per pixel column at the largest value in it', () => {
    const ts = [0, 1, 2, 3, 10, 20, 30];
    const values = [5, 90, 10, 0, 40, 50, 60];
    const steps: [number, number, number][] = [];
    const n = counterSteps(ts, values, 0, 30, 5, (a, b, v) => steps.push([a, b, v]));
    // 0..3 fall in one 5 µs column: one step at 90 (the short peak survives), lasting to the next sample.
    assert.deepStrictEqual(steps, [[0, 10, 90], [10, 20, 40], [20, 30, 50], [30, 30, 60]]);
    assert.strictEqual(n, 4);
  });

  it('starts a counter with the sample in effect at the window start and stops after its end', () => {
    const ts = [0, 100, 200, 300, 400];
    const values = [1, 2, 3, 4, 5];
    const steps: [number, number, number][] = [];
    counterSteps(ts, values, 150, 250, 1, (a, b, v) => steps.push([a, b, v]));
    assert.deepStrictEqual(steps, [[100, 200, 2], [200, 300, 3], [300, 400, 4]]);
    assert.strictEqual(counterSteps([], [], 0, 10, 1, () => assert.fail('no samples, no steps')), 0);
  });
});
