/**
 * Loads web-tree-sitter and the Python grammar once per process.
 * The wasm files sit next to the bundle (dist/, copied by webpack) when bundled, and in node_modules when
 * the sources run under tsx (tests, benchmarks); we look in both so neither mode needs configuration.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Parser, Language } from 'web-tree-sitter';

export type { Tree, Node, Point, Edit } from 'web-tree-sitter';

let loading: Promise<Language> | undefined;

function locate(file: string, packageName: string): string {
  const beside = path.join(__dirname, file);
  if (fs.existsSync(beside)) return beside;
  // Running from source: look in node_modules of this folder's ancestors (not require.resolve, which
  // webpack would try to bundle).
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', packageName, file);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`cannot find ${file} (looked beside the server and in node_modules/${packageName})`);
}

/** The Python grammar; the first call loads the wasm runtime and grammar, later calls share it. */
export function loadPython(): Promise<Language> {
  if (!loading) {
    loading = (async () => {
      await Parser.init({ locateFile: (f: string) => locate(f, 'web-tree-sitter') });
      return Language.load(locate('tree-sitter-python.wasm', 'tree-sitter-python'));
    })();
    loading.catch(() => { loading = undefined; });
  }
  return loading;
}

/** A parser set up for Python; callers own it (and the trees it makes) and must delete() them. */
export async function createPythonParser(): Promise<Parser> {
  const language = await loadPython();
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
}
