import * as assert from 'assert';
import { blend, pack, parseCssColour, pixelColour, unpack } from '../../../webview/render/colour';
import { Raster } from '../../../webview/render/raster';

const colour = (css: string) => pixelColour(parseCssColour(css)!);
const BG = colour('#000000');
const RED = colour('#ff0000');
const BLUE = colour('#0000ff');

/** The raster as rows of one-letter cells, for pictures in assertions. */
function picture(r: Raster, key: Record<string, ReturnType<typeof colour>>): string[] {
  const names = new Map<number, string>(Object.entries(key).map(([k, c]) => [c.packed, k]));
  const rows: string[] = [];
  for (let y = 0; y < r.height; y++) {
    let line = '';
    for (let x = 0; x < r.width; x++) line += names.get(r.px[y * r.width + x]) ?? '?';
    rows.push(line);
  }
  return rows;
}

describe('webview render: colours for the pixel raster', () => {
  it('reads hex, rgb() and rgba() in their usual spellings', () => {
    assert.deepStrictEqual(parseCssColour('#1e1e1e'), { r: 30, g: 30, b: 30, a: 255 });
    assert.deepStrictEqual(parseCssColour('#FFF'), { r: 255, g: 255, b: 255, a: 255 });
    assert.deepStrictEqual(parseCssColour('#0072B280'), { r: 0, g: 114, b: 178, a: 128 });
    assert.deepStrictEqual(parseCssColour('rgba(0,158,115,0.22)'), { r: 0, g: 158, b: 115, a: 56 });
    assert.deepStrictEqual(parseCssColour(' rgb(10 20 30 / 50%) '), { r: 10, g: 20, b: 30, a: 128 });
    assert.deepStrictEqual(parseCssColour('rgb(100%, 0%, 50%)'), { r: 255, g: 0, b: 128, a: 255 });
  });

  it('leaves what it cannot read to the browser', () => {
    for (const css of ['red', 'hsl(0 100% 50%)', '#12', 'rgb(1,2)', 'rgb(a,b,c)', 'color-mix(in srgb, red, blue)']) {
      assert.strictEqual(parseCssColour(css), undefined, css);
    }
  });

  it('packs channels in ImageData byte order and back', () => {
    const p = pack(1, 2, 3, 4);
    assert.deepStrictEqual(unpack(p), { r: 1, g: 2, b: 3, a: 4 });
    assert.deepStrictEqual([...new Uint8Array(new Uint32Array([p]).buffer)], [1, 2, 3, 4]);
  });

  it('blends source-over onto an opaque pixel', () => {
    const white = pack(255, 255, 255);
    assert.deepStrictEqual(unpack(blend({ r: 0, g: 0, b: 0, a: 255 }, white, 0.25)), { r: 191, g: 191, b: 191, a: 255 });
    assert.deepStrictEqual(unpack(blend({ r: 0, g: 0, b: 0, a: 128 }, white)), { r: 127, g: 127, b: 127, a: 255 });
    assert.strictEqual(blend(RED, white), RED.packed);
  });
});

describe('webview render: pixel raster', () => {
  it('snaps rectangles to whole pixels, at least one wide, and clips them', () => {
    const r = new Raster(10, 3);
    r.fillAll(BG);
    r.rect(1.2, 0, 0.1, 1, RED); // sub-pixel: still one column
    r.rect(3.4, 1, 2.2, 1, BLUE); // 3.4..5.6 -> columns 3..5
    r.clip(8, 10);
    r.rect(6, 2, 10, 5, RED); // clipped left by the clip, bottom by the raster
    assert.deepStrictEqual(picture(r, { '.': BG, R: RED, B: BLUE }), [
      '.R........',
      '...BBB....',
      '........RR',
    ]);
    assert.strictEqual(r.rects, 3);
  });

  it('scales CSS pixels to device pixels', () => {
    const r = new Raster(8, 4, 2);
    r.fillAll(BG);
    r.rect(1, 1, 2, 1, RED);
    assert.deepStrictEqual(picture(r, { '.': BG, R: RED }), ['........', '........', '..RRRR..', '..RRRR..']);
  });

  it('copies a band\'s line down its height and joins touching runs of one colour', () => {
    const r = new Raster(10, 5);
    r.fillAll(BG);
    r.beginBand(1, 3);
    r.run(0, 2, RED);
    r.run(2, 1, RED); // touches: joined
    r.run(5, 2, BLUE);
    r.run(9, 0.2, RED); // a sliver still gets its column
    r.endBand();
    assert.deepStrictEqual(picture(r, { '.': BG, R: RED, B: BLUE }), [
      '..........',
      'RRR..BB..R',
      'RRR..BB..R',
      'RRR..BB..R',
      '..........',
    ]);
    assert.strictEqual(r.rects, 3);
  });

  it('lets a nested band take over the lines it covers, keeping what the outer band drew above it', () => {
    const r = new Raster(6, 5);
    r.fillAll(BG);
    r.beginBand(0, 4); // the lifetime band
    r.run(0, 6, BLUE);
    r.beginBand(1, 3); // the slices inside it
    r.run(2, 2, RED);
    r.endBand();
    assert.deepStrictEqual(picture(r, { '.': BG, R: RED, B: BLUE }), ['BBBBBB', 'BBRRBB', 'BBRRBB', 'BBRRBB', '......']);
  });

  it('copies a nested band down even when nothing was written into it', () => {
    const r = new Raster(4, 4);
    r.fillAll(BG);
    r.beginBand(0, 4);
    r.run(0, 4, BLUE);
    r.beginBand(1, 3);
    r.endBand();
    assert.deepStrictEqual(picture(r, { '.': BG, B: BLUE }), ['BBBB', 'BBBB', 'BBBB', 'BBBB']);
  });

  it('hatches waits: the colour faint underneath, diagonal stripes of it on top', () => {
    const r = new Raster(12, 2);
    r.fillAll(BG);
    r.beginBand(0, 2);
    r.hatch(0, 12, RED);
    r.endBand();
    const faint = blend(RED, BG.packed, 0.25);
    const key = { '.': BG, R: RED, f: { ...RED, packed: faint } };
    // Stripes where (x + y) mod 6 < 2, anchored to the canvas so neighbouring slices line up.
    assert.deepStrictEqual(picture(r, key), ['RRffffRRffff', 'RffffRRffffR']);
  });

  it('blends translucent colours over what is already there', () => {
    const r = new Raster(4, 2);
    r.fillAll(colour('#ffffff'));
    r.rect(0, 0, 4, 2, colour('rgba(0,0,0,0.5)'));
    for (const p of r.px) assert.deepStrictEqual(unpack(p), { r: 127, g: 127, b: 127, a: 255 });
  });

  it('draws lines one pixel per step along their longer axis, clipped to the plot', () => {
    const r = new Raster(8, 6);
    r.fillAll(BG);
    r.clip(1, 8);
    r.line(0, 0, 5, 5, RED); // diagonal; column 0 is outside the clip
    r.line(7, -100, 7, 1e6, BLUE); // far-off ends: clipped, not walked
    assert.deepStrictEqual(picture(r, { '.': BG, R: RED, B: BLUE }), [
      '.......B',
      '.R.....B',
      '..R....B',
      '...R...B',
      '....R..B',
      '.....R.B',
    ]);
  });

  it('draws a thicker line across its direction, and nothing for a line outside the raster', () => {
    const r = new Raster(6, 4);
    r.fillAll(BG);
    r.line(0, 2, 5, 2, RED, 2);
    r.line(-10, -5, -1, -1, BLUE);
    assert.deepStrictEqual(picture(r, { '.': BG, R: RED, B: BLUE }), ['......', 'RRRRRR', 'RRRRRR', '......']);
  });

  it('draws counter bars up from the strip\'s bottom, blended once per line over the row background', () => {
    const r = new Raster(6, 5);
    const white = colour('#ffffff');
    r.fillAll(white);
    r.rect(0, 3, 6, 2, BLUE); // another row background under the strip's lower lines
    r.beginBars(1, 4, BG, 0.5);
    r.bar(0, 1, 4);
    r.bar(2, 2, 1);
    r.bar(5, 1, 0.1); // a trace of activity still shows one pixel
    r.bar(4, 1, 0); // nothing at zero
    const g = { ...BG, packed: blend(BG, white.packed, 0.5) };
    const d = { ...BG, packed: blend(BG, BLUE.packed, 0.5) };
    assert.deepStrictEqual(picture(r, { W: white, B: BLUE, g, d }), [
      'WWWWWW',
      'gWWWWW',
      'gWWWWW',
      'dBBBBB',
      'dBddBd',
    ]);
  });

  it('rejects an empty size and a buffer that is too small', () => {
    assert.throws(() => new Raster(0, 10), /positive/);
    assert.throws(() => new Raster(10, 10, 1, new ArrayBuffer(16)), RangeError);
  });
});
