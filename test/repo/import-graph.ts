/**
 * The module graph of the source tree, read with the TypeScript compiler's parser: which file refers to
 * which, and the import cycles in it. Used by import-graph.test.ts; kept apart so it can be tested on a
 * small fixture of its own.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Files read as source. Declaration files (.d.ts) included: they can import too. */
const SOURCE_FILE = /\.(?:[cm]?ts|tsx)$/;
/** Extensions of code a relative specifier may name; any other file it names (CSS, JSON, SVG) is an asset, not a module of the graph. */
const CODE_FILE = /\.(?:[cm]?[jt]sx?)$/;

/**
 * Every module a file refers to, in source order: imports and exports-from (`import type` and
 * `export type` included), side-effect imports, `import x = require()`, dynamic `import()`, `import('…')`
 * in type positions (`Queue<import('./request-log').RequestRecord>`, `typeof import('./x')`), module
 * augmentations (`declare module './x'`) and `/// <reference path>`. Read from the syntax tree, so a
 * reference is found wherever it is nested, and text in strings, comments and JSX is never taken for one.
 */
export function moduleSpecifiers(fileName: string, text: string): string[] {
  const kind = fileName.endsWith('.tsx')
    ? ts.ScriptKind.TSX
    : fileName.endsWith('.jsx')
      ? ts.ScriptKind.JSX
      : /\.[cm]?js$/.test(fileName)
        ? ts.ScriptKind.JS
        : ts.ScriptKind.TS;
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, kind);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) literal(node.name);
    ts.forEachChild(node, visit);
  };
  visit(source);
  // A triple-slash reference names a path, not a specifier: `path="x.d.ts"` is next to the file.
  for (const ref of source.referencedFiles) found.push(/^\.{1,2}\//.test(ref.fileName) ? ref.fileName : `./${ref.fileName}`);
  return found;
}

const isRelative = (specifier: string) => specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/**
 * The file a relative specifier names, the way the bundler and `moduleResolution: "bundler"` find it:
 * the path itself if it names code, `.js` written for `.ts`, then `.ts`, `.tsx`, `.d.ts` added, then the
 * directory's index. 'asset' when it names a file that is not code; undefined when it names nothing.
 */
export function resolveSpecifier(fromFile: string, specifier: string): string | 'asset' | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier.replace(/[?#].*$/, ''));
  if (CODE_FILE.test(base) && isFile(base)) return base;
  const swapped = { '.js': ['.ts', '.tsx'], '.jsx': ['.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] }[path.extname(base)] ?? [];
  const stem = base.slice(0, base.length - path.extname(base).length);
  const candidates = [
    ...swapped.map((ext) => stem + ext),
    ...['.ts', '.tsx', '.d.ts'].map((ext) => base + ext),
    ...['index.ts', 'index.tsx', 'index.d.ts'].map((index) => path.join(base, index)),
  ];
  const found = candidates.find(isFile);
  if (found) return found;
  return isFile(base) ? 'asset' : undefined;
}

export interface ImportGraph {
  /** Every file read, repo-relative with forward slashes, mapped to the files it refers to (sorted, no repeats). Packages are left out. */
  edges: Map<string, string[]>;
  /** Relative specifiers that name no file: a reference the graph could not follow. */
  unresolved: { from: string; specifier: string }[];
}

/**
 * The graph of every source file under `dirs` (relative to `root`), and of any file inside `root` they
 * reach outside those directories (so a cycle through another directory is seen too). node_modules is
 * never read.
 */
export function buildImportGraph(root: string, dirs: string[]): ImportGraph {
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  const edges = new Map<string, string[]>();
  const unresolved: ImportGraph['unresolved'] = [];
  const queue: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(abs);
      else if (entry.isFile() && SOURCE_FILE.test(entry.name)) queue.push(abs);
    }
  };
  for (const dir of dirs) walk(path.resolve(root, dir));

  const readable = (abs: string) => {
    const r = rel(abs);
    return !r.startsWith('../') && !r.split('/').includes('node_modules');
  };
  while (queue.length > 0) {
    const file = queue.shift()!;
    const from = rel(file);
    if (edges.has(from)) continue;
    const targets = new Set<string>();
    for (const specifier of moduleSpecifiers(file, readFileSync(file, 'utf8'))) {
      if (!isRelative(specifier)) continue; // a package
      const target = resolveSpecifier(file, specifier);
      if (target === undefined) unresolved.push({ from, specifier });
      else if (target !== 'asset') {
        targets.add(rel(target));
        if (readable(target)) queue.push(target);
      }
    }
    edges.set(from, [...targets].sort());
  }
  return { edges: new Map([...edges].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), unresolved };
}

/** The strongly connected components of the graph (Tarjan): files that all reach one another. */
export function stronglyConnected(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) connect(v);
  return components;
}

/**
 * The import cycles, each as a chain that ends where it starts (`['a.ts', 'b.ts', 'a.ts']`). Within each
 * tangle of files that all reach one another, one shortest cycle per import inside it that no cycle
 * listed already goes through: every import that takes part in a cycle shows up in one, without listing
 * the (possibly very many) other paths round the same tangle. Sorted, each starting from its first file
 * by name.
 */
export function findCycles(edges: Map<string, string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  for (const component of stronglyConnected(edges)) {
    const members = new Set(component);
    const inside = (v: string) => (edges.get(v) ?? []).filter((w) => members.has(w));
    if (component.length === 1 && !inside(component[0]).includes(component[0])) continue;
    const covered = new Set<string>();
    for (const from of component) {
      for (const to of inside(from)) {
        if (covered.has(`${from}\0${to}`)) continue;
        // The shortest way back from `to` to `from`, inside the tangle.
        const previous = new Map<string, string>([[to, to]]);
        const queue = [to];
        while (queue.length > 0 && !previous.has(from)) {
          const v = queue.shift()!;
          for (const w of inside(v)) {
            if (previous.has(w)) continue;
            previous.set(w, v);
            queue.push(w);
          }
        }
        const back = [from];
        for (let v = from; v !== to; v = previous.get(v)!) back.push(previous.get(v)!);
        // back is from ← … ← to; the cycle is from → to → … → from (['a.ts', 'a.ts'] for a file importing itself).
        const loop = [from, ...back.reverse()];
        for (let i = 0; i + 1 < loop.length; i++) covered.add(`${loop[i]}\0${loop[i + 1]}`);
        const ring = loop.slice(0, -1);
        const start = ring.indexOf([...ring].sort()[0]);
        const canonical = [...ring.slice(start), ...ring.slice(0, start), ring[start]];
        cycles.set(canonical.join('\0'), canonical);
      }
    }
  }
  return [...cycles.keys()].sort().map((key) => cycles.get(key)!);
}

export const formatCycle = (cycle: string[]) => cycle.join(' -> ');
