/**
 * The e2e launcher for machines with a desktop VS Code: @vscode/test-electron's runTests with the
 * executable from $VSCODE_EXECUTABLE (never downloads one). Same suite as run.ts; the parts that read
 * the webview DOM through the browser are skipped here (no bridge), everything else runs.
 *
 *   VSCODE_EXECUTABLE=/usr/share/code/code npx tsx test/e2e/electron.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';
import { buildSuite, ROOT } from './buildSuite';

async function main(): Promise<number> {
  const exe = process.env.VSCODE_EXECUTABLE;
  if (!exe || !fs.existsSync(exe)) {
    console.error('[e2e] set VSCODE_EXECUTABLE to a desktop VS Code binary (>= 1.100); this launcher never downloads one');
    return 2;
  }
  const suite = await buildSuite();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-e2e-electron-'));
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace);
  for (const f of fs.readdirSync(path.join(ROOT, 'samples'))) {
    if (f.endsWith('.py')) fs.copyFileSync(path.join(ROOT, 'samples', f), path.join(workspace, f));
  }
  try {
    return await runTests({
      vscodeExecutablePath: exe,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: suite,
      launchArgs: [workspace, '--disable-workspace-trust', '--user-data-dir', path.join(tmp, 'ud'), '--extensions-dir', path.join(tmp, 'ext'), '--skip-welcome', '--skip-release-notes'],
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`[e2e] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
