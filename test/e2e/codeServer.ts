/**
 * code-server 4.100.3 (VS Code 1.100.3) installed from npm into a cache folder outside the project,
 * following the measured offline recipe in ../shared/notes/vscode-e2e-offline.md: install with
 * --ignore-scripts, then do code-server's postinstall by hand without any network download
 * (argon2 builds from source, ripgrep is Debian's, node-pty/kerberos build with node-gyp).
 *
 * The install takes ~3 minutes and ~300 MB, so it is done once and reused: a marker file is written
 * only after every step succeeded, and a half-finished folder is wiped and redone.
 */
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const CODE_SERVER_VERSION = '4.100.3';

export function cacheRoot(): string {
  return process.env.INTERLEAVE_E2E_CACHE || path.join(os.homedir(), '.cache', 'interleave-e2e');
}

export interface Installed {
  /** Folder holding node_modules/code-server. */
  prefix: string;
  entry: string;
}

function log(msg: string): void {
  process.stdout.write(`[e2e] ${msg}\n`);
}

/** Runs a command, streaming its output into a log file; rejects with the log's tail on failure. */
function run(cmd: string, args: string[], cwd: string, logFile: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.appendFileSync(logFile, `\n$ (cd ${cwd} && ${cmd} ${args.join(' ')})\n`);
    const out = fs.openSync(logFile, 'a');
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    child.on('error', (err) => { fs.closeSync(out); reject(err); });
    child.on('exit', (code, signal) => {
      fs.closeSync(out);
      if (code === 0) return resolve();
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}) in ${cwd}; see ${logFile}\n${tail}`));
    });
  });
}

function symlink(target: string, at: string): void {
  try {
    fs.lstatSync(at);
    return; // exists already (a re-run of a step)
  } catch {
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.symlinkSync(target, at);
  }
}

export async function ensureCodeServer(): Promise<Installed> {
  const prefix = path.join(cacheRoot(), `code-server-${CODE_SERVER_VERSION}`);
  const marker = path.join(prefix, '.complete');
  const cs = path.join(prefix, 'node_modules', 'code-server');
  const entry = path.join(cs, 'out', 'node', 'entry.js');
  if (fs.existsSync(marker) && fs.existsSync(entry)) return { prefix, entry };

  for (const tool of ['/usr/bin/rg']) {
    if (!fs.existsSync(tool)) throw new Error(`${tool} is missing: install Debian's ripgrep (and libkrb5-dev, chromium) first`);
  }
  log(`installing code-server ${CODE_SERVER_VERSION} into ${prefix} (once; ~3 minutes)`);
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(prefix, { recursive: true });
  // A package.json of its own keeps npm from walking up into whatever project contains the cache.
  fs.writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({ name: 'interleave-e2e-cache', private: true }) + '\n');
  const logFile = path.join(prefix, 'install.log');
  const t0 = Date.now();
  const npmEnv = { npm_config_yes: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

  await run('npm', ['install', '--ignore-scripts', '--no-save', `code-server@${CODE_SERVER_VERSION}`], prefix, logFile, npmEnv);
  // argon2's prebuilt download fails offline; rebuild compiles it from source.
  await run('npm', ['rebuild', 'argon2'], prefix, logFile, npmEnv);

  const vscodeDir = path.join(cs, 'lib', 'vscode');
  await run('npm', ['install', '--omit=dev', '--ignore-scripts'], vscodeDir, logFile, npmEnv);
  // @vscode/ripgrep's postinstall would download rg: use Debian's instead.
  symlink('/usr/bin/rg', path.join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg'));
  // node-pty's build runs `npx node-gyp`; npm_config_yes lets npx proceed non-interactively.
  await run('npm', ['rebuild'], vscodeDir, logFile, npmEnv);

  // The rest of code-server's postinstall.sh.
  symlink('node_modules', path.join(vscodeDir, 'node_modules.asar'));
  symlink('code-linux.sh', path.join(vscodeDir, 'bin', 'remote-cli', 'code-server'));
  symlink('browser-linux.sh', path.join(vscodeDir, 'bin', 'helpers', 'browser.sh'));
  await run('npm', ['install', '--omit=dev'], path.join(vscodeDir, 'extensions'), logFile, npmEnv);

  if (!fs.existsSync(entry)) throw new Error(`code-server installed but ${entry} is missing; see ${logFile}`);
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  log(`code-server installed in ${Math.round((Date.now() - t0) / 1000)} s`);
  return { prefix, entry };
}

export interface Server {
  url: string;
  port: number;
  child: ChildProcess;
  userDataDir: string;
  extensionsDir: string;
  /** Everything code-server printed (for failure reports). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  installed: Installed;
  workspace: string;
  tmp: string;
  port: number;
  settings?: Record<string, unknown>;
  /** Workspace trust on (default off: --disable-workspace-trust). */
  trust?: boolean;
}

export function writeConfig(tmp: string, settings: Record<string, unknown> = {}): { config: string; ud: string; ext: string } {
  const config = path.join(tmp, 'cs.yaml');
  const ud = path.join(tmp, 'ud');
  const ext = path.join(tmp, 'ext');
  fs.mkdirSync(path.join(ud, 'User'), { recursive: true });
  fs.mkdirSync(ext, { recursive: true });
  // Without --config code-server writes ~/.config/code-server/config.yaml.
  fs.writeFileSync(config, 'auth: none\ncert: false\n');
  const base = {
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'workbench.enableExperiments': false,
    'security.workspace.trust.enabled': false,
    'workbench.tips.enabled': false,
    'chat.disableAIFeatures': true,
  };
  fs.writeFileSync(path.join(ud, 'User', 'settings.json'), JSON.stringify({ ...base, ...settings }, null, 2));
  return { config, ud, ext };
}

export function commonArgs(entry: string, c: { config: string; ud: string; ext: string }, trust = false): string[] {
  return [entry, '--config', c.config, '--auth', 'none', '--user-data-dir', c.ud, '--extensions-dir', c.ext,
    '--disable-telemetry', '--disable-update-check', ...(trust ? [] : ['--disable-workspace-trust'])];
}

/** Installs a .vsix into the extensions folder with code-server's CLI (exits when done). */
export function installVsix(o: { installed: Installed; tmp: string; vsix: string; logFile: string }): Promise<void> {
  const c = writeConfig(o.tmp);
  return run(process.execPath, [...commonArgs(o.installed.entry, c), '--install-extension', o.vsix, '--force'], o.tmp, o.logFile);
}

/** Starts code-server and resolves once it listens. */
export function startCodeServer(o: StartOptions): Promise<Server> {
  const c = writeConfig(o.tmp, { ...o.settings, 'security.workspace.trust.enabled': !!o.trust });
  const args = [...commonArgs(o.installed.entry, c, o.trust), '--bind-addr', `127.0.0.1:${o.port}`, o.workspace];
  const child = spawn(process.execPath, args, {
    cwd: o.tmp,
    env: { ...process.env, XDG_CONFIG_HOME: path.join(o.tmp, 'xdg-config'), XDG_DATA_HOME: path.join(o.tmp, 'xdg-data') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() ends the extension host and everything it started
  });
  let out = '';
  const stop = (): Promise<void> => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    t.unref();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop(); reject(new Error(`code-server did not start within 60 s:\n${out.slice(-4000)}`)); }, 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 2_000_000) out = out.slice(-1_000_000);
      if (/HTTP server listening/.test(out)) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${o.port}`, port: o.port, child, userDataDir: c.ud, extensionsDir: c.ext, output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${signal ?? code}) before listening:\n${out.slice(-4000)}`));
    });
  });
}
