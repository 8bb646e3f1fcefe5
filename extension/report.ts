/**
 * The standalone HTML report: one file holding the timeline bundle, its stylesheet and the trace,
 * which opens offline in any browser. The CSP admits only the inline script and style carrying a
 * fresh random nonce; the trace rides in a non-executable JSON script element, escaped so nothing
 * in it can end that element.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readChromeText, REPORT_DATA_ELEMENT_ID } from '../protocol';
import { attr, text } from './webviewHtml';

export interface ReportOptions {
  traceJson: string;
  webviewJs: string;
  webviewCss: string;
  title: string;
}

export function reportHtml(o: ReportOptions): string {
  const nonce = crypto.randomBytes(18).toString('base64');
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${text(o.title)}</title>
<style nonce="${nonce}">
${inlineSafe(o.webviewCss, 'style')}
</style>
</head>
<body>
<div id="app" data-state="loading"></div>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${escapeJsonForScript(o.traceJson)}</script>
<script nonce="${nonce}">
${inlineSafe(stripSourceMap(o.webviewJs), 'script')}
</script>
</body>
</html>
`;
}

/**
 * JSON inside <script type="application/json">: '<' becomes \u003c (still the same JSON), so neither
 * "</script>" nor "<!--" can appear; U+2028/2029 are escaped for older parsers.
 */
export function escapeJsonForScript(json: string): string {
  return json.replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Bundled code or CSS inlined into the page must not contain its own closing tag. */
function inlineSafe(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1').replace(/<!--/g, '<\\!--');
}

function stripSourceMap(js: string): string {
  return js.replace(/\n\/\/# sourceMappingURL=.*$/m, '');
}

/** Reads a trace and the built bundle (dist/webview.js, dist/webview.css) and writes the report. */
export async function writeReportFile(tracePath: string, outPath: string, distDir: string): Promise<void> {
  const traceJson = await readText(tracePath, 'trace');
  // Reject what is not a trace at all here, with the reader's message; a truncated trace is still
  // written (the report shows the repair warning and draws what is valid).
  readChromeText(traceJson);
  const webviewJs = await readText(path.join(distDir, 'webview.js'), 'timeline bundle (run `npm run build`)');
  const webviewCss = await readText(path.join(distDir, 'webview.css'), 'timeline stylesheet (run `npm run build`)');
  const title = `Interleave — ${path.basename(tracePath)}`;
  await fs.promises.mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
  await fs.promises.writeFile(outPath, reportHtml({ traceJson, webviewJs, webviewCss, title }), 'utf8');
}

async function readText(p: string, what: string): Promise<string> {
  try {
    return await fs.promises.readFile(p, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read the ${what} ${p}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
