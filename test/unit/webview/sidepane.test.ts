import * as assert from 'assert';
import { NARROW_PANEL, SIDE_DEFAULT, SIDE_MIN, SPLITTER_W, TIMELINE_MIN, sidePaneLayout } from '../../../webview/ui/sidepane';
import { gutterWidth, GUTTER, MIN_GUTTER } from '../../../webview/render/draw';

describe('webview: layout in narrow panels', () => {
  it('collapses the side pane by default below the narrow-panel width, and follows the user once they chose', () => {
    assert.deepStrictEqual(sidePaneLayout(1400, undefined), { open: true, width: SIDE_DEFAULT });
    assert.strictEqual(sidePaneLayout(NARROW_PANEL, undefined).open, true);
    assert.strictEqual(sidePaneLayout(NARROW_PANEL - 1, undefined).open, false);
    assert.strictEqual(sidePaneLayout(540, undefined).open, false);
    assert.strictEqual(sidePaneLayout(540, { open: true }).open, true);
    assert.strictEqual(sidePaneLayout(1400, { open: false }).open, false);
  });

  it('keeps the pane between its minimum and what leaves the timeline its minimum', () => {
    // opened in a half-width panel: at most 45 % of it, not the 340 px of a wide one
    assert.strictEqual(sidePaneLayout(540, { open: true }).width, Math.round(540 * 0.45));
    assert.strictEqual(sidePaneLayout(540, { open: true, width: 2000 }).width, 540 - SPLITTER_W - TIMELINE_MIN);
    assert.strictEqual(sidePaneLayout(540, { open: true, width: 10 }).width, SIDE_MIN);
    assert.strictEqual(sidePaneLayout(1400, { width: 500 }).width, 500);
    // a panel too small for both: the pane keeps its minimum (the user can still close it)
    assert.strictEqual(sidePaneLayout(300, { open: true }).width, SIDE_MIN);
    assert.strictEqual(sidePaneLayout(1400, { width: Number.NaN }).width, SIDE_DEFAULT);
  });

  it('narrows the lane-name column with the canvas, within its bounds', () => {
    assert.strictEqual(gutterWidth(1400), GUTTER);
    assert.strictEqual(gutterWidth(1000), GUTTER);
    assert.strictEqual(gutterWidth(560), 112);
    assert.strictEqual(gutterWidth(300), MIN_GUTTER);
    assert.ok(gutterWidth(700) < GUTTER && gutterWidth(700) > gutterWidth(560));
  });
});
