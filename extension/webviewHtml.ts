/**
 * The timeline panel's HTML: a strict CSP that admits only our bundle (by nonce) and our stylesheet
 * (from the webview's own resource origin). No inline styles, no remote content.
 */
export interface WebviewHtmlOptions {
  nonce: string;
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  title: string;
}

export function webviewHtml(o: WebviewHtmlOptions): string {
  const nonce = attr(o.nonce);
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${o.cspSource} 'nonce-${nonce}'`,
    `img-src ${o.cspSource} data:`,
    `font-src ${o.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(o.styleUri)}" nonce="${nonce}">
<title>${text(o.title)}</title>
</head>
<body>
<div id="app" data-state="loading"></div>
<script nonce="${nonce}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}

/** For double-quoted attribute values (single quotes stay readable: CSP keywords use them). */
export function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function text(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
