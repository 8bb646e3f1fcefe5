/**
 * The e2e launcher for machines without a desktop VS Code: code-server 4.100.3 from npm (cached outside
 * the project), driven by playwright-core with Debian's Chromium, offline. See
 * ../shared/notes/vscode-e2e-offline.md for the measured recipe this follows.
 *
 *   npx tsx test/e2e/run.ts          build, `npm run package`, install interleave.vsix into code-server,
 *                                    run the suite against the installed extension
 *   npx tsx test/e2e/run.ts --dev    run the suite against the working tree (extensionDevelopmentPath)
 *   --no-build                       use dist/ as it is (still packages interleave.vsix from it)
 *   --grep TEXT                      run only the tests whose title contains TEXT
 *
 * Three sessions: the main one (workspace trust off) runs the whole suite; a short one with workspace
 * trust on runs only the `untrusted workspace` test, and one runs only the `window reload` test (it reloads
 * the window and VS Code runs the suite again after it). Those two skip themselves elsewhere.
 * Prints the suite's results and a closing line `e2e: N passed, M failed`; exits non-zero on failure.
 * Screenshots and logs go to .test-artifacts/e2e/.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium, Browser, Page } from 'playwright-core';
import { buildProject, buildSuite, ROOT } from './buildSuite';
import { ensureCodeServer, Installed, installVsix, Server, startCodeServer } from './codeServer';
import { BRIDGE_FILE, TAG } from './suite/constants';

const ARTIFACTS = path.join(ROOT, '.test-artifacts', 'e2e');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The whole in-host suite must settle within this (it normally takes well under a minute). */
const SUITE_TIMEOUT_MS = 8 * 60_000;

const argv = process.argv.slice(2);
const args = new Set(argv);
const grepAt = argv.indexOf('--grep');
const grep = grepAt >= 0 ? argv[grepAt + 1] : undefined;
const dev = args.has('--dev');
const build = !args.has('--no-build') && process.env.INTERLEAVE_E2E_NO_BUILD !== '1';

function log(msg: string): void {
  process.stdout.write(`[e2e] ${msg}\n`);
}

function sh(cmd: string, argv: string[], logName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const logFile = path.join(ARTIFACTS, logName);
    const out = fs.openSync(logFile, 'w');
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', out, out] });
    child.on('error', reject);
    child.on('exit', (code) => {
      fs.closeSync(out);
      if (code === 0) {
        log(`${cmd} ${argv.join(' ')}: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        resolve();
      } else {
        reject(new Error(`${cmd} ${argv.join(' ')} failed (${code}):\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`));
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Reads the timeline webview's root element: data-state and data-summary. */
async function readWebview(page: Page): Promise<{ state: string; summary: unknown }> {
  const frames = page.locator('iframe.webview.ready');
  const n = await frames.count();
  for (let i = 0; i < n; i++) {
    const root = page.frameLocator('iframe.webview.ready').nth(i).frameLocator('#active-frame').locator('[data-state]').first();
    if (!(await root.count())) continue;
    const state = (await root.getAttribute('data-state')) ?? '';
    const summary = await root.getAttribute('data-summary');
    return { state, summary: summary ? JSON.parse(summary) : null };
  }
  return { state: 'absent', summary: null };
}

/**
 * Clicks the first item of `kind` drawn in the timeline webview (a lock hold, a wait, 'arrow:message'),
 * where the webview's read-only test hook says a click picks exactly that item; returns what it clicked.
 */
async function clickTimelineItem(page: Page, kind: string): Promise<{ kind: string; loc?: string; lane: string; selected: string | null } | null> {
  const n = await page.locator('iframe.webview.ready').count();
  for (let i = 0; i < n; i++) {
    const doc = page.frameLocator('iframe.webview.ready').nth(i).frameLocator('#active-frame');
    const canvas = doc.locator('.viewport canvas');
    if (!(await canvas.count())) continue;
    // The panel may still be settling (a resize when an editor opened beside it, a last batch of the
    // run): an item located just before that moved, and the click may then select nothing, or another
    // item (an arrow now drawn across the spot). So: locate, click, and if the kind of item asked for
    // was not selected within a moment, locate again and click again (at most three times). What was
    // selected last is returned for the caller to check.
    const want = kind.startsWith('arrow') ? 'arrow' : 'interval';
    let spot: { x: number; y: number; loc?: string; lane: string } | undefined;
    let selected: string | null = null;
    for (let attempt = 0; attempt < 3 && selected !== want; attempt++) {
      spot = await canvas.evaluate((_, k) => (window as unknown as {
        __interleaveTest?: { locate(kind: string): { x: number; y: number; loc?: string; lane: string } | undefined };
      }).__interleaveTest?.locate(k), kind);
      if (!spot) return null;
      await canvas.click({ position: { x: spot.x, y: spot.y } });
      // What the webview made of the click: its data-summary is published on the next animation
      // frame, so poll it (bounded) until it shows the selection asked for.
      for (const end = Date.now() + 2_000; Date.now() < end;) {
        const summary = await doc.locator('#app').getAttribute('data-summary');
        selected = summary ? (JSON.parse(summary) as { selected: string | null }).selected : null;
        if (selected === want) break;
        await page.waitForTimeout(50);
      }
    }
    return spot ? { kind, loc: spot.loc, lane: spot.lane, selected } : null;
  }
  throw new Error('no timeline webview is open');
}

async function answerBridge(page: Page, dir: string, line: string): Promise<void> {
  const m = /^bridge (\S+) (.*)$/.exec(line);
  if (!m) return;
  const [, id, json] = m;
  let answer: { ok: boolean; value?: unknown; error?: string };
  try {
    const req = JSON.parse(json) as { what: string; screenshot?: string; button?: string };
    if (req.what === 'click') {
      // A button in the workbench, e.g. a notification's action.
      const button = page.locator('.notifications-toasts .monaco-button, .notification-list-item .monaco-button').filter({ hasText: req.button ?? '' }).first();
      await button.click({ timeout: 10_000 });
      answer = { ok: true, value: true };
      const file = path.join(dir, `${id}.json`);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(answer));
      fs.renameSync(`${file}.tmp`, file);
      return;
    }
    if (req.what === 'clickItem') {
      answer = { ok: true, value: await clickTimelineItem(page, (req as { kind?: string }).kind ?? 'lock.hold') };
      const file = path.join(dir, `${id}.json`);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(answer));
      fs.renameSync(`${file}.tmp`, file);
      return;
    }
    if (req.what !== 'dom') throw new Error(`unknown request ${req.what}`);
    const value = await readWebview(page) as { state: string; summary: unknown; screenshot?: string };
    if (req.screenshot && value.state === 'ready') {
      const file = path.join(ARTIFACTS, path.basename(req.screenshot));
      await page.screenshot({ path: file });
      value.screenshot = file;
    }
    answer = { ok: true, value };
  } catch (err) {
    answer = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  // Write then rename, so the suite never reads half a file.
  const file = path.join(dir, `${id}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(answer));
  fs.renameSync(`${file}.tmp`, file);
}

interface Results {
  passed: number;
  failed: number;
  pending: number;
  done: boolean;
}

interface SessionOptions {
  name: string;
  installed: Installed;
  suite: string;
  /** The .vsix to install (undefined: run the working tree as the development extension). */
  vsix?: string;
  /** Workspace trust on (the untrusted-workspace check) or off (everything else). */
  trust: boolean;
  grep?: string;
  /** The suite may ask for a window reload (then VS Code runs it again). */
  reload?: boolean;
}

/** One code-server + Chromium session running the in-host suite (or the part of it `grep` selects). */
async function runSession(o: SessionOptions): Promise<Results> {
  const results: Results = { passed: 0, failed: 0, pending: 0, done: false };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `interleave-e2e-${o.name}-`));
  const workspace = path.join(tmp, 'workspace');
  const bridgeDir = path.join(tmp, 'bridge');
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(bridgeDir);
  for (const f of fs.readdirSync(path.join(ROOT, 'samples'))) {
    if (f.endsWith('.py')) fs.copyFileSync(path.join(ROOT, 'samples', f), path.join(workspace, f));
  }
  fs.writeFileSync(path.join(workspace, BRIDGE_FILE), JSON.stringify({ dir: bridgeDir, grep: o.grep, reload: o.reload }));

  let devPath = ROOT;
  if (o.vsix) {
    const t = Date.now();
    await installVsix({ installed: o.installed, tmp, vsix: o.vsix, logFile: path.join(ARTIFACTS, `install-vsix-${o.name}.log`) });
    const ext = fs.readdirSync(path.join(tmp, 'ext')).filter((d) => d.startsWith('interleave.interleave-'));
    if (ext.length !== 1) throw new Error(`the .vsix did not install (extensions folder: ${fs.readdirSync(path.join(tmp, 'ext')).join(', ')})`);
    log(`${o.name}: installed ${path.basename(o.vsix)} with --install-extension in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    devPath = path.join(__dirname, 'harness');
  }

  const port = await freePort();
  let server: Server | undefined;
  let browser: Browser | undefined;
  const consoleLog = fs.createWriteStream(path.join(ARTIFACTS, `console-${o.name}.log`));
  try {
    server = await startCodeServer({
      installed: o.installed, workspace, tmp, port, trust: o.trust,
    });
    log(`${o.name}: code-server ${server.url} (${o.vsix ? 'installed .vsix' : 'working tree'}${o.trust ? ', workspace trust on' : ''})`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'chromium-config') },
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    let exitCode: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (exitCode = r));
    await page.exposeFunction('codeAutomationExit', (code: number) => exitCode(code));
    page.on('console', (msg) => {
      const text = msg.text();
      consoleLog.write(`${msg.type()}: ${text}\n`);
      const i = text.indexOf(TAG);
      if (i < 0) return;
      const line = text.slice(i + TAG.length + 1);
      if (line.startsWith('bridge ')) {
        void answerBridge(page, bridgeDir, line);
        return;
      }
      process.stdout.write(`${line}\n`);
      if (line.startsWith('pass ')) results.passed++;
      else if (line.startsWith('fail ')) results.failed++;
      else if (line.startsWith('pending ')) results.pending++;
      else if (line.startsWith('done ')) results.done = true;
    });
    const remote = (p: string): string => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', remote(devPath)], ['extensionTestsPath', remote(o.suite)]]);
    const tNav = Date.now();
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    log(`${o.name}: workbench ready ${((Date.now() - tNav) / 1000).toFixed(1)} s after opening the page`);
    const code = await Promise.race([
      exited,
      new Promise<number>((r) => setTimeout(() => r(-1), SUITE_TIMEOUT_MS).unref()),
    ]);
    if (code === -1) {
      results.failed++;
      log(`${o.name}: the suite did not finish within ${SUITE_TIMEOUT_MS / 60_000} minutes`);
      await page.screenshot({ path: path.join(ARTIFACTS, `timeout-${o.name}.png`) }).catch(() => undefined);
    } else if (code !== 0 && results.failed === 0) {
      results.failed++; // the suite crashed before reporting a failure
      log(`${o.name}: the extension host reported exit code ${code} without a failed test`);
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (server) fs.writeFileSync(path.join(ARTIFACTS, `code-server-${o.name}.log`), server.output());
    consoleLog.end();
    // VS Code's own logs (the extension host, the Interleave output channel) are worth keeping.
    const logs = path.join(tmp, 'ud', 'logs');
    const keep = path.join(ARTIFACTS, `logs-${o.name}`);
    fs.rmSync(keep, { recursive: true, force: true });
    if (fs.existsSync(logs)) fs.cpSync(logs, keep, { recursive: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (!results.done && results.failed === 0) results.failed++;
  return results;
}

async function main(): Promise<number> {
  // Start from a clean artifacts folder so screenshots and logs are this run's.
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (or set CHROMIUM_PATH)`);
  const t0 = Date.now();
  const total: Results = { passed: 0, failed: 0, pending: 0, done: true };

  if (build) {
    const tb = Date.now();
    await buildProject(dev ? 'development' : 'production');
    log(`webpack (${dev ? 'development' : 'production'}): ok in ${((Date.now() - tb) / 1000).toFixed(1)} s`);
  }
  if (!dev) {
    // Packaging is part of what is tested (the README's install path), so it runs even with --no-build,
    // which only skips webpack. A failure here is reported and ends the run: there is nothing to install.
    try {
      await sh('npm', ['run', 'package'], 'package.log');
      console.log('pass npm run package produces interleave.vsix');
      total.passed++;
    } catch (err) {
      console.log(`fail npm run package produces interleave.vsix: ${err instanceof Error ? err.message : String(err)}`);
      total.failed++;
      throw err;
    }
  }
  const vsix = dev ? undefined : path.join(ROOT, 'interleave.vsix');
  if (vsix && !fs.existsSync(vsix)) throw new Error(`${vsix} is missing: run npm run package (or use --dev)`);
  const suite = await buildSuite();
  const installed = await ensureCodeServer();

  const sessions: SessionOptions[] = [];
  // The main session skips the untrusted-workspace tests (they skip themselves when trusted); a short
  // second session with workspace trust on runs only those.
  if (!grep || !/^(untrusted|window reload)/.test(grep)) sessions.push({ name: 'main', installed, suite, vsix, trust: false, grep });
  if (!grep || /untrusted/.test(grep)) sessions.push({ name: 'untrusted', installed, suite, vsix, trust: true, grep: '^untrusted' });
  if (!grep || /reload/.test(grep)) sessions.push({ name: 'reload', installed, suite, vsix, trust: false, grep: '^window reload', reload: true });
  for (const session of sessions) {
    const r = await runSession(session);
    total.passed += r.passed;
    total.failed += r.failed;
    // The main session reports the untrusted tests as pending; they ran in their own session.
    if (session.name !== 'main' || sessions.length === 1) total.pending += r.pending;
  }
  log(`took ${((Date.now() - t0) / 1000).toFixed(0)} s; screenshots and logs in ${path.relative(ROOT, ARTIFACTS)}/`);
  console.log(`e2e: ${total.passed} passed, ${total.failed} failed${total.pending ? `, ${total.pending} skipped` : ''}`);
  return total.failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`[e2e] ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
});
