/**
 * Why this check exists: import cycles make module evaluation order decide whether a binding is
 * initialised yet (a `const` read before its module has run throws in workerd and in the browser),
 * tangle modules so none can be understood, moved or tested alone, and grow quietly: type-only cycles
 * included, since they are the first step to a value one and say the same about the design. So
 * proxy/, analytics/ and dashboard/src/ must have none. analytics/ may use the proxy's shared core
 * (proxy/core/) and nothing else of it, so the analytics code does not depend on the request path.
 *
 * The graph is read with the TypeScript parser (import-graph.ts); the first block of tests checks that
 * reader on small fixtures so the real checks below cannot pass by seeing nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles, formatCycle, moduleSpecifiers } from './import-graph';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHECKED = ['proxy', 'analytics', 'dashboard/src'];

describe('the import graph reader', () => {
  const temp = mkdtempSync(path.join(tmpdir(), 'import-graph-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  /** Writes the files under a fresh directory of the fixture and returns it. */
  const fixture = (name: string, files: Record<string, string>): string => {
    const dir = path.join(temp, name);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return dir;
  };
  const cyclesIn = (dir: string, dirs = ['.']) => findCycles(buildImportGraph(dir, dirs).edges).map(formatCycle);

  it('finds every kind of module reference, import() in type positions included', () => {
    const text = `/// <reference path="globals.d.ts" />
import { a } from './static';
import type { B } from './type-only';
import './side-effect';
export { c } from './re-export';
export type { D } from './type-re-export';
export * from './star';
import e = require('./require');
import { x } from 'some-package';
export interface Env {
  QUEUE?: Queue<import('./in-generic').Row>;
  nested: { deep: Array<Promise<import('./nested-type').Deep>> };
  mod: typeof import('./typeof-import');
}
type F = import('./type-alias').F;
export async function load(g: import('./parameter-type').G) {
  return import('./dynamic');
}
declare module './augmented' {}
const decoy = "import('./in-a-string')"; // import('./in-a-comment')
`;
    expect(moduleSpecifiers('env.ts', text).sort()).toEqual(
      [
        './static',
        './type-only',
        './side-effect',
        './re-export',
        './type-re-export',
        './star',
        './require',
        'some-package',
        './in-generic',
        './nested-type',
        './typeof-import',
        './type-alias',
        './parameter-type',
        './dynamic',
        './augmented',
        './globals.d.ts',
      ].sort(),
    );
  });

  it('reads .tsx without taking JSX text for references', () => {
    const text = `import { h } from './h';
export const View = () => <p>Don't import('./not-an-import') from "here"</p>;
export type Later = import('./after-jsx').Later;
`;
    expect(moduleSpecifiers('view.tsx', text)).toEqual(['./h', './after-jsx']);
  });

  it('finds a cycle and reports it as a chain', () => {
    const dir = fixture('cycle', {
      'a.ts': `import { b } from './b';\nexport const a = b;\n`,
      'b.ts': `import { c } from './c';\nexport const b = c;\n`,
      'c.ts': `import { a } from './a';\nexport const c = () => a;\n`,
      'd.ts': `import { a } from './a';\nexport const d = a;\n`,
    });
    expect(cyclesIn(dir)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
  });

  it('finds type-only cycles: import type, export type, and import() in a type position', () => {
    const dir = fixture('type-only', {
      'env.ts': `export interface Env { LOG_QUEUE?: Queue<import('./log').Row> }\n`,
      'log.ts': `import type { Env } from './env';\nexport interface Row { env: Env }\n`,
      'x.ts': `import type { Y } from './y';\nexport interface X { y: Y }\n`,
      'y.ts': `export type { X as Y } from './x';\n`,
    });
    expect(cyclesIn(dir)).toEqual(['env.ts -> log.ts -> env.ts', 'x.ts -> y.ts -> x.ts']);
  });

  it('lists every import that takes part in a tangle, and a file importing itself', () => {
    const dir = fixture('tangle', {
      'app.tsx': `import { One } from './pages/one';\nimport { Two } from './pages/two';\n`,
      'pages/one.tsx': `import type { Props } from '../app';\n`,
      'pages/two.tsx': `import type { Props } from '../app';\n`,
      'self.ts': `export type Self = import('./self').Other;\n`,
    });
    expect(cyclesIn(dir)).toEqual(['app.tsx -> pages/one.tsx -> app.tsx', 'app.tsx -> pages/two.tsx -> app.tsx', 'self.ts -> self.ts']);
  });

  it('follows a cycle out of the directories checked and back', () => {
    const dir = fixture('outside', {
      'src/a.ts': `import { b } from '../shared/b';\n`,
      'shared/b.ts': `import type { A } from '../src/a';\n`,
    });
    expect(cyclesIn(dir, ['src'])).toEqual(['shared/b.ts -> src/a.ts -> shared/b.ts']);
  });

  it('passes an acyclic graph, resolving .tsx, index files and .js specifiers and skipping packages and assets', () => {
    const dir = fixture('acyclic', {
      'main.ts': `import { b } from './b';\nimport { c } from './c.js';\nimport { lib } from './lib';\nimport { View } from './view';\nimport './styles.css';\nimport { z } from 'zod';\n`,
      'b.ts': `import { d } from './d';\nexport const b = d;\n`,
      'c.ts': `import type { D } from './d';\nexport const c = 1;\n`,
      'd.ts': `export const d = 1;\nexport type D = number;\n`,
      'lib/index.ts': `export const lib = 1;\n`,
      'view.tsx': `import type { D } from './d';\nexport const View = () => <p />;\n`,
      'styles.css': `p { color: red }\n`,
    });
    const graph = buildImportGraph(dir, ['.']);
    expect(graph.unresolved).toEqual([]);
    expect(graph.edges.get('main.ts')).toEqual(['b.ts', 'c.ts', 'lib/index.ts', 'view.tsx']);
    expect(graph.edges.get('view.tsx')).toEqual(['d.ts']);
    expect(findCycles(graph.edges)).toEqual([]);
  });

  it('reports a relative import that names no file', () => {
    const dir = fixture('unresolved', { 'a.ts': `import type { Gone } from './moved-away';\n` });
    expect(buildImportGraph(dir, ['.']).unresolved).toEqual([{ from: 'a.ts', specifier: './moved-away' }]);
  });
});

describe('this repository', () => {
  const graph = buildImportGraph(ROOT, CHECKED);
  const checked = (file: string) => CHECKED.some((dir) => file.startsWith(`${dir}/`));

  it('is read whole: every directory checked has files, and every relative import names a file', () => {
    const files = [...graph.edges.keys()].filter(checked);
    expect(files.length).toBeGreaterThan(50);
    for (const dir of CHECKED) expect(files.filter((f) => f.startsWith(`${dir}/`)).length, dir).toBeGreaterThan(5);
    expect([...graph.edges.values()].flat().length).toBeGreaterThan(50);
    expect(graph.unresolved, 'relative imports that name no file').toEqual([]);
  });

  it('has no import cycles (type-only ones included) in proxy/, analytics/ or dashboard/src/', () => {
    const cycles = findCycles(graph.edges)
      .filter((cycle) => cycle.some(checked))
      .map(formatCycle);
    expect(cycles, `Import cycles; break each by moving what both sides need into a module of its own:\n  ${cycles.join('\n  ')}\n`).toEqual([]);
  });

  it('analytics/ imports nothing from proxy/ but proxy/core/', () => {
    const analytics = [...graph.edges].filter(([from]) => from.startsWith('analytics/'));
    expect(analytics.length).toBeGreaterThan(5);
    const violations = analytics.flatMap(([from, targets]) =>
      targets.filter((to) => to.startsWith('proxy/') && !to.startsWith('proxy/core/')).map((to) => `${from} imports ${to}`),
    );
    expect(violations, `analytics/ may import only proxy/core/ of the proxy:\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });
});
