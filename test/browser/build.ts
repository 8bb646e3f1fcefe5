/**
 * Builds dist/webview.js + dist/webview.css when missing or older than the webview sources, through
 * webpack's Node API with the project's own webpack config (target 'webview').
 */
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist');

function newest(dir: string): number {
  let t = 0;
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    const st = fs.statSync(p);
    if (st.isFile() && st.mtimeMs > t) t = st.mtimeMs;
  }
  return t;
}

export function webviewBundleStale(): boolean {
  const js = path.join(DIST, 'webview.js');
  const css = path.join(DIST, 'webview.css');
  if (!fs.existsSync(js) || !fs.existsSync(css)) return true;
  const built = Math.min(fs.statSync(js).mtimeMs, fs.statSync(css).mtimeMs);
  return Math.max(newest(path.join(ROOT, 'webview')), newest(path.join(ROOT, 'protocol'))) > built;
}

/**
 * `outDir`/`mode`: the benchmark builds a production bundle (scope-hoisted, as shipped) elsewhere;
 * tests use dist/ in development mode, rebuilt only when stale.
 */
/** Returns true when it built, false when dist/ was up to date. */
export async function buildWebview(opts: { mode?: 'development' | 'production'; outDir?: string } = {}): Promise<boolean> {
  if (!opts.outDir && !webviewBundleStale()) return false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const webpack = require(path.join(ROOT, 'node_modules', 'webpack')) as (c: unknown, cb: (err: Error | null, stats?: { hasErrors(): boolean; toString(o: unknown): string }) => void) => void;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const configs = require(path.join(ROOT, 'webpack.config.js')) as Record<string, unknown>[];
  const base = configs.find((c) => c.name === 'webview');
  if (!base) throw new Error("webpack.config.js has no 'webview' target");
  const config: Record<string, unknown> = { ...base, mode: opts.mode ?? 'development' };
  if (opts.outDir) {
    config.output = { ...(base.output as object), path: opts.outDir };
    // The stylesheet copy targets dist/ by absolute path; the benchmark reads it from there.
    config.plugins = [];
  }
  await new Promise<void>((resolve, reject) => {
    webpack(config, (err, stats) => {
      if (err) return reject(err);
      if (stats?.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
      resolve();
    });
  });
  // webpack leaves identical outputs untouched (compareBeforeEmit); mark them fresh for the check above.
  const now = new Date();
  for (const f of ['webview.js', 'webview.css']) {
    const p = path.join(opts.outDir ?? DIST, f);
    if (fs.existsSync(p)) fs.utimesSync(p, now, now);
  }
  return true;
}

if (require.main === module) {
  buildWebview().then((built) => console.log(built ? 'built dist/webview.js' : 'dist/webview.js is up to date'), (e: Error) => { console.error(e.message); process.exit(1); });
}
