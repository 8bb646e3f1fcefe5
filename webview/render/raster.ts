/**
 * A pixel buffer for the bulk of the timeline (row backgrounds, slices, ticks, counter strips, arrow
 * lines), written from JavaScript and handed to the canvas with one putImageData. Chromium's software canvas pays about a
 * microsecond per fillRect whatever its size, so 30,000 visible slices cost 30 ms as canvas calls;
 * written as runs of pixels they cost about two.
 *
 * Slices of one lane row share their top and height: they are written as runs into the row's first
 * line (a "band") and that line is then copied down the band's height — one fill per slice instead of
 * one per slice and line. That needs what lies under a band to be the same on all of its lines when the
 * band begins (row backgrounds and earlier bands are), which is why bands are drawn first.
 *
 * Coordinates are CSS px (floats) scaled by `scale` (devicePixelRatio) and snapped to whole device
 * pixels; anything visible covers at least one pixel column, so nothing is dropped by snapping.
 * Pure (typed arrays only), so it is tested without a browser.
 */
import { blend, PixelColour } from './colour';

/** Hatching for waits: stripes `STRIPE` px wide every `PERIOD` px along the anti-diagonal, anchored to the canvas. */
const PERIOD = 6;
const STRIPE = 2;
/** Opacity of a hatched slice's fill under its stripes (as the canvas pattern it replaces). */
const HATCH_FILL_ALPHA = 0.25;

export class Raster {
  readonly px: Uint32Array;
  /** Runs and rectangles written (after joining touching runs of one colour): the work done. */
  rects = 0;
  private clipX0 = 0;
  private clipX1: number;
  // The open band: lines [bandY0, bandY1), template line bandY0; -1 when none is open.
  private bandY0 = -1;
  private bandY1 = -1;
  private bandWritten = false;
  private lastColour = -1;
  private lastX1 = -1;
  /** Hatched runs of the open band: x0, x1, colour index into hatchColours. */
  private readonly hatchRuns: number[] = [];
  private readonly hatchColours: PixelColour[] = [];

  constructor(readonly width: number, readonly height: number, readonly scale = 1, buffer?: ArrayBuffer) {
    if (!(width > 0 && height > 0)) throw new Error(`raster size must be positive, got ${width}x${height}`);
    this.px = buffer ? new Uint32Array(buffer, 0, width * height) : new Uint32Array(width * height);
    if (this.px.length !== width * height) throw new Error('raster buffer is smaller than its size');
    this.clipX1 = width;
  }

  /** Horizontal clip (CSS px) for what follows; the plot excludes the lane-name column. */
  clip(x0: number, x1: number): void {
    this.clipX0 = Math.max(0, Math.min(this.width, Math.round(x0 * this.scale)));
    this.clipX1 = Math.max(this.clipX0, Math.min(this.width, Math.round(x1 * this.scale)));
  }

  fillAll(c: PixelColour): void {
    this.px.fill(c.packed);
  }

  /** A rectangle (CSS px), blended when the colour is translucent. */
  rect(x: number, y: number, w: number, h: number, c: PixelColour, alpha = 1): void {
    const s = this.scale;
    if (!this.columns(x, w)) return;
    const x0 = this.cx0, x1 = this.cx1;
    const y0 = Math.max(0, Math.round(y * s));
    const y1 = Math.min(this.height, Math.max(Math.round(y * s) + 1, Math.round((y + h) * s)));
    if (y1 <= y0) return;
    this.rects++;
    const { px, width } = this;
    if (c.a === 255 && alpha >= 1) {
      const v = c.packed;
      for (let yy = y0; yy < y1; yy++) fillPixels(px, v, yy * width + x0, yy * width + x1);
      return;
    }
    for (let yy = y0; yy < y1; yy++) this.blendRun(yy * width + x0, yy * width + x1, c, alpha);
  }

  /**
   * A straight line (CSS px) `width` CSS px thick, one pixel per step along its longer axis and not
   * anti-aliased: a few hundred long arrows cost the software canvas a couple of milliseconds as
   * strokes, and a tenth of that here. The segment is clipped first, so far-off ends cost nothing.
   */
  line(x0: number, y0: number, x1: number, y1: number, c: PixelColour, width = 1): void {
    const s = this.scale;
    let ax = x0 * s, ay = y0 * s, bx = x1 * s, by = y1 * s;
    // Liang–Barsky against the clip box (pixel centres of the plot).
    const minX = this.clipX0, maxX = this.clipX1 - 1, minY = 0, maxY = this.height - 1;
    if (maxX < minX || maxY < minY) return;
    const dx = bx - ax, dy = by - ay;
    let t0 = 0, t1 = 1;
    const edge = (p: number, q: number): boolean => {
      if (p === 0) return q >= 0;
      const r = q / p;
      if (p < 0) { if (r > t1) return false; if (r > t0) t0 = r; } else { if (r < t0) return false; if (r < t1) t1 = r; }
      return true;
    };
    if (!edge(-dx, ax - minX) || !edge(dx, maxX - ax) || !edge(-dy, ay - minY) || !edge(dy, maxY - ay)) return;
    bx = ax + t1 * dx; by = ay + t1 * dy;
    ax = ax + t0 * dx; ay = ay + t0 * dy;
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay))));
    const sx = (bx - ax) / steps, sy = (by - ay) / steps;
    const thick = Math.max(1, Math.round(width * s));
    const alongX = Math.abs(bx - ax) >= Math.abs(by - ay);
    const { px } = this;
    const W = this.width, H = this.height;
    const opaque = c.a === 255, v = c.packed;
    this.rects++;
    // Coordinates are non-negative after clipping, so (t + 0.5) | 0 rounds them.
    let x = ax + 0.5, y = ay + 0.5;
    if (thick === 1 && opaque) {
      for (let i = 0; i <= steps; i++, x += sx, y += sy) {
        const xi = x | 0, yi = y | 0;
        if (xi <= maxX && yi < H) px[yi * W + xi] = v;
      }
      return;
    }
    for (let i = 0; i <= steps; i++, x += sx, y += sy) {
      const xi = x | 0, yi = y | 0;
      // A thicker line widens across its direction of travel.
      for (let k = 0; k < thick; k++) {
        const xx = alongX ? xi : xi + k - (thick >> 1), yy = alongX ? yi + k - (thick >> 1) : yi;
        if (xx < minX || xx > maxX || yy < 0 || yy >= H) continue;
        const o = yy * W + xx;
        px[o] = opaque ? v : blend(c, px[o]);
      }
    }
  }

  // The open strip of bars: device lines [barY0, barY1) and the colour each line's bars take there.
  private barY0 = 0;
  private barY1 = 0;
  private readonly barColours: number[] = [];

  /**
   * Opens a strip of bars (a counter): lines y..y+h (CSS px), `c` at `alpha` over what each line holds
   * at the plot's left edge. That is blended once per line, not per pixel, so the strip must lie on a
   * background that is the same all along each line (a row background), as counter strips do.
   */
  beginBars(y: number, h: number, c: PixelColour, alpha: number): void {
    const s = this.scale;
    this.barY0 = Math.max(0, Math.round(y * s));
    this.barY1 = Math.min(this.height, Math.round((y + h) * s));
    this.barColours.length = 0;
    for (let line = this.barY0; line < this.barY1; line++) this.barColours.push(blend(c, this.px[line * this.width + Math.min(this.clipX0, this.width - 1)], alpha));
  }

  /** A bar of the open strip, `height` CSS px tall from the strip's bottom (at least one pixel when positive). */
  bar(x: number, w: number, height: number): void {
    if (height <= 0 || !this.columns(x, w)) return;
    const x0 = this.cx0, x1 = this.cx1;
    const { px, width } = this;
    const top = Math.max(this.barY0, this.barY1 - Math.max(1, Math.round(height * this.scale)));
    this.rects++;
    for (let line = top; line < this.barY1; line++) fillPixels(px, this.barColours[line - this.barY0], line * width + x0, line * width + x1);
  }

  /** Opens a band: lines y..y+h (CSS px) whose runs share one template line. Closes any open band. */
  beginBand(y: number, h: number): void {
    const s = this.scale;
    const top = Math.round(y * s);
    const y0 = Math.max(0, top);
    const y1 = Math.min(this.height, Math.max(top + 1, Math.round((y + h) * s)));
    // A band opening inside the open one and reaching its end (a lane's slices over its lifetime
    // background) rewrites those lines itself: the open band is copied down only to the new template
    // line, and the new band is copied down even if nothing is written into it.
    const nested = this.bandY0 >= 0 && this.bandWritten && !this.hatchRuns.length && y0 > this.bandY0 && y0 < this.bandY1 && y1 >= this.bandY1;
    this.endBand(nested ? y0 + 1 : Infinity);
    this.bandY0 = y0;
    this.bandY1 = y1;
    this.bandWritten = nested;
    this.lastColour = -1;
    this.lastX1 = -1;
  }

  /** A run in the open band (CSS px). Runs touching the previous one of the same colour join it. */
  run(x: number, w: number, c: PixelColour, alpha = 1): void {
    if (this.bandY1 <= this.bandY0) return;
    if (!this.columns(x, w)) return;
    const x0 = this.cx0, x1 = this.cx1;
    this.bandWritten = true;
    const o = this.bandY0 * this.width;
    if (c.a === 255 && alpha >= 1) {
      if (c.packed === this.lastColour && x0 <= this.lastX1) this.lastX1 = Math.max(this.lastX1, x1);
      else { this.rects++; this.lastColour = c.packed; this.lastX1 = x1; }
      fillPixels(this.px, c.packed, o + x0, o + x1);
      return;
    }
    this.rects++;
    this.lastColour = -1;
    this.blendRun(o + x0, o + x1, c, alpha);
  }

  /** A hatched run in the open band: the colour faint underneath, full-strength diagonal stripes on top. */
  hatch(x: number, w: number, c: PixelColour): void {
    if (this.bandY1 <= this.bandY0) return;
    if (!this.columns(x, w)) return;
    const x0 = this.cx0, x1 = this.cx1;
    this.bandWritten = true;
    this.rects++;
    this.lastColour = -1;
    const o = this.bandY0 * this.width;
    this.blendRun(o + x0, o + x1, c, HATCH_FILL_ALPHA);
    let ci = this.hatchColours.indexOf(c);
    if (ci < 0) { ci = this.hatchColours.length; this.hatchColours.push(c); }
    const n = this.hatchRuns.length;
    // Adjacent hatched runs of one colour join (the stripes continue across them).
    if (n && this.hatchRuns[n - 1] === ci && this.hatchRuns[n - 2] >= x0) { this.hatchRuns[n - 2] = Math.max(this.hatchRuns[n - 2], x1); return; }
    this.hatchRuns.push(x0, x1, ci);
  }

  /**
   * Copies the band's template line down its height (to line `limit`, exclusive, when a nested band
   * takes over from there), then draws the stripes of its hatched runs.
   */
  endBand(limit = Infinity): void {
    if (this.bandY0 < 0) return;
    const { px, width } = this;
    const y0 = this.bandY0, y1 = this.bandY1;
    this.bandY0 = this.bandY1 = -1;
    if (!this.bandWritten || y1 <= y0) { this.hatchRuns.length = this.hatchColours.length = 0; return; }
    const from = y0 * width;
    const x0 = this.clipX0, x1 = this.clipX1;
    for (let y = y0 + 1, e = Math.min(y1, limit); y < e; y++) px.copyWithin(y * width + x0, from + x0, from + x1);
    const runs = this.hatchRuns;
    const p = Math.max(2, Math.round(PERIOD * this.scale)), st = Math.max(1, Math.round(STRIPE * this.scale));
    for (let i = 0; i < runs.length; i += 3) {
      const c = this.hatchColours[runs[i + 2]];
      const rx0 = runs[i], rx1 = runs[i + 1];
      for (let y = y0; y < y1; y++) {
        const o = y * width;
        // First column of a stripe at or after rx0 on this line: (x + y) mod p < st.
        let x = rx0 - ((rx0 + y) % p);
        for (; x < rx1; x += p) {
          const a = Math.max(x, rx0), b = Math.min(x + st, rx1);
          if (b > a) {
            if (c.a === 255) fillPixels(px, c.packed, o + a, o + b);
            else this.blendRun(o + a, o + b, c, 1);
          }
        }
      }
    }
    runs.length = this.hatchColours.length = 0;
  }

  // Device columns of the last `columns` call (fields, not a returned pair: it runs per slice).
  private cx0 = 0;
  private cx1 = 0;

  /** Device columns [cx0, cx1) of CSS span x..x+w, at least one wide when it reaches the clip, clipped; false when empty. */
  private columns(x: number, w: number): boolean {
    const s = this.scale;
    let x0 = Math.round(x * s);
    let x1 = Math.max(x0 + 1, Math.round((x + w) * s));
    if (x0 < this.clipX0) x0 = this.clipX0;
    if (x1 > this.clipX1) x1 = this.clipX1;
    this.cx0 = x0;
    this.cx1 = x1;
    return x1 > x0;
  }

  // The last blend (colour, alpha, background in, result): runs over a uniform background blend once.
  private blendColour: PixelColour | undefined;
  private blendAlpha = 1;
  private blendIn = -1;
  private blendOut = 0;

  /** Blends `c` over pixels [from, to) of the buffer; uniform backgrounds cost one blend. */
  private blendRun(from: number, to: number, c: PixelColour, alpha: number): void {
    const { px } = this;
    if (this.blendColour !== c || this.blendAlpha !== alpha) { this.blendColour = c; this.blendAlpha = alpha; this.blendIn = -1; }
    let lastIn = this.blendIn, lastOut = this.blendOut;
    for (let i = from; i < to; i++) {
      const d = px[i];
      if (d !== lastIn) { lastIn = d; lastOut = blend(c, d, alpha); }
      px[i] = lastOut;
    }
    this.blendIn = lastIn;
    this.blendOut = lastOut;
  }
}

/** px[from..to) = v. A call to TypedArray fill costs about as much as 30 stores, and most runs are a few pixels. */
function fillPixels(px: Uint32Array, v: number, from: number, to: number): void {
  if (to - from > 24) { px.fill(v, from, to); return; }
  for (let i = from; i < to; i++) px[i] = v;
}
