/**
 * Compiles the in-host suite (TypeScript) to one JS file that VS Code can load as extensionTestsPath.
 * `vscode` comes from the extension host and `mocha` from the project's node_modules (the output sits
 * inside the project, so Node's resolution finds it).
 */
import * as path from 'path';
import webpack from 'webpack';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SUITE_OUT = path.join(ROOT, '.test-artifacts', 'e2e', 'suite');

export function buildSuite(): Promise<string> {
  const config: webpack.Configuration = {
    mode: 'none',
    target: 'node',
    entry: { index: path.join(__dirname, 'suite', 'index.ts') },
    output: { path: SUITE_OUT, filename: '[name].js', libraryTarget: 'commonjs2' },
    resolve: { extensions: ['.ts', '.js'] },
    module: {
      rules: [{ test: /\.ts$/, exclude: /node_modules/, use: { loader: 'ts-loader', options: { transpileOnly: true, configFile: path.join(ROOT, 'test', 'tsconfig.json') } } }],
    },
    externals: { vscode: 'commonjs vscode', mocha: 'commonjs mocha' },
    node: { __dirname: false, __filename: false },
    devtool: 'inline-source-map',
    performance: { hints: false },
  };
  return new Promise((resolve, reject) => {
    webpack(config, (err, stats) => {
      if (err) return reject(err);
      if (stats?.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
      resolve(path.join(SUITE_OUT, 'index.js'));
    });
  });
}

/** Builds the project's bundles (dist/) with the root webpack.config.js, as `npm run build` does. */
export function buildProject(mode: 'development' | 'production', names?: string[]): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const all = require(path.join(ROOT, 'webpack.config.js')) as webpack.Configuration[];
  const configs = all.filter((c) => !names || names.includes(c.name ?? '')).map((c) => ({ ...c, mode }));
  return new Promise((resolve, reject) => {
    webpack(configs, (err, stats) => {
      if (err) return reject(err);
      if (stats?.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true }).slice(0, 5000)));
      resolve();
    });
  });
}
