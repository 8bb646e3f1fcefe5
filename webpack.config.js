// One config per target, built from one helper (the vscode-eslint habit): the extension host,
// the language server, the CLI (all Node) and the timeline webview (browser).
'use strict';
const path = require('path');
const webpack = require('webpack');
const CopyPlugin = require('copy-webpack-plugin');

const dist = path.resolve(__dirname, 'dist');

/** Common settings; TypeScript is only transpiled here, `tsc -b` does the type check. */
function withDefaults({ tsconfig, ...config }) {
  return {
    mode: 'none',
    devtool: 'nosources-source-map',
    resolve: { extensions: ['.ts', '.js'], mainFields: config.target === 'web' ? ['browser', 'module', 'main'] : ['module', 'main'] },
    module: {
      rules: [{ test: /\.ts$/, exclude: /node_modules/, use: { loader: 'ts-loader', options: {
        transpileOnly: true, onlyCompileBundledFiles: true, configFile: path.resolve(__dirname, tsconfig),
        // Bundles pull in protocol/ (and the CLI pulls in server/), outside each project's rootDir.
        compilerOptions: { rootDir: __dirname, composite: false, declaration: false, declarationMap: false },
      } } }],
    },
    output: { path: dist, filename: '[name].js', libraryTarget: config.target === 'web' ? undefined : 'commonjs2' },
    performance: { hints: false },
    ...config,
  };
}

const nodeTarget = (name, entry, tsconfig, extra = {}) => withDefaults({
  name,
  target: 'node',
  entry: { [name]: entry },
  tsconfig,
  // Keep __dirname meaning dist/ so the bundles find the runtime, wasm files and the webview bundle.
  node: { __dirname: false, __filename: false },
  externals: { vscode: 'commonjs vscode' },
  ...extra,
});

/** The parser's wasm files sit next to the bundles that load them (server and CLI `lint`), plus the rules' docs. */
function copyWasm() {
  return new CopyPlugin({ patterns: [
    { from: 'node_modules/web-tree-sitter/web-tree-sitter.wasm', to: dist },
    { from: 'node_modules/tree-sitter-python/tree-sitter-python.wasm', to: dist },
    { from: 'server/RULES.md', to: dist, noErrorOnMissing: true },
  ] });
}

module.exports = [
  nodeTarget('extension', './extension/extension.ts', 'extension/tsconfig.json'),
  nodeTarget('server', './server/server.ts', 'server/tsconfig.json', { plugins: [copyWasm()] }),
  nodeTarget('cli', './extension/cli/main.ts', 'extension/tsconfig.json', {
    plugins: [new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true }), copyWasm()],
  }),
  withDefaults({
    name: 'webview',
    target: 'web',
    entry: { webview: './webview/main.ts' },
    tsconfig: 'webview/tsconfig.json',
    plugins: [new CopyPlugin({ patterns: [{ from: 'webview/style.css', to: path.join(dist, 'webview.css'), noErrorOnMissing: true }] })],
  }),
];
