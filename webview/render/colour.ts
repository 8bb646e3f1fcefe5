/**
 * CSS colours as numbers for the pixel raster (render/raster): parsed once per distinct string and
 * packed the way a Uint32Array view of ImageData stores them on this machine (bytes R, G, B, A in
 * memory order). Pure: no DOM; the renderer asks the canvas only for colour syntax this does not read
 * (named colours, hsl(), color-mix() from a VS Code theme).
 */

export interface Rgba {
  r: number;
  g: number;
  b: number;
  /** 0..255 */
  a: number;
}

/** A colour ready for the raster: the packed opaque form plus its channels and alpha for blending. */
export interface PixelColour extends Rgba {
  /** Packed with alpha 255 (what an opaque canvas holds). */
  packed: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Packs channels (0..255) into one Uint32 in ImageData byte order. */
export function pack(r: number, g: number, b: number, a = 255): number {
  return LITTLE_ENDIAN ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

export function unpack(p: number): Rgba {
  return LITTLE_ENDIAN
    ? { r: p & 255, g: (p >>> 8) & 255, b: (p >>> 16) & 255, a: p >>> 24 }
    : { r: p >>> 24, g: (p >>> 16) & 255, b: (p >>> 8) & 255, a: p & 255 };
}

export function pixelColour(c: Rgba): PixelColour {
  return { ...c, packed: pack(c.r, c.g, c.b, 255) };
}

/**
 * `src` over the opaque pixel `dst` (packed), as canvas source-over with a global alpha of
 * `src.a / 255 * alpha`; the result is opaque.
 */
export function blend(src: Rgba, dst: number, alpha = 1): number {
  const a = (src.a / 255) * alpha;
  if (a >= 1) return pack(src.r, src.g, src.b);
  // Channels read in place (no object per pixel: this runs for every translucent run).
  const b = 1 - a;
  const dr = LITTLE_ENDIAN ? dst & 255 : dst >>> 24;
  const dg = LITTLE_ENDIAN ? (dst >>> 8) & 255 : (dst >>> 16) & 255;
  const db = LITTLE_ENDIAN ? (dst >>> 16) & 255 : (dst >>> 8) & 255;
  return pack(Math.round(src.r * a + dr * b), Math.round(src.g * a + dg * b), Math.round(src.b * a + db * b));
}

const HEX = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const FUNC = /^rgba?\(\s*([^)]*)\)$/i;

/**
 * Reads #rgb, #rgba, #rrggbb, #rrggbbaa, rgb() and rgba() (comma or space separated, numbers or
 * percentages, `/ alpha`). Undefined for anything else, so the caller can ask the browser.
 */
export function parseCssColour(text: string): Rgba | undefined {
  const s = text.trim();
  const hex = HEX.exec(s);
  if (hex) {
    let h = hex[1];
    if (h.length <= 4) h = [...h].map((c) => c + c).join('');
    const n = (i: number) => parseInt(h.slice(i, i + 2), 16);
    return { r: n(0), g: n(2), b: n(4), a: h.length === 8 ? n(6) : 255 };
  }
  const fn = FUNC.exec(s);
  if (!fn) return undefined;
  const parts = fn[1].split(/\s*[,/]\s*|\s+/).filter(Boolean);
  if (parts.length !== 3 && parts.length !== 4) return undefined;
  const channel = (p: string): number | undefined => {
    const v = p.endsWith('%') ? (parseFloat(p) * 255) / 100 : parseFloat(p);
    return Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v))) : undefined;
  };
  const alpha = (p: string): number | undefined => {
    const v = p.endsWith('%') ? parseFloat(p) / 100 : parseFloat(p);
    return Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v * 255))) : undefined;
  };
  const [r, g, b] = parts.slice(0, 3).map(channel);
  const a = parts.length === 4 ? alpha(parts[3]) : 255;
  if (r === undefined || g === undefined || b === undefined || a === undefined) return undefined;
  return { r, g, b, a };
}
