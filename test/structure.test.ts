// The shape issue #27 set for src/: no import cycle (type imports included), no file over 300 lines, no function
// over 80 lines — so each thing stays defined once, in a file a newcomer can read.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ROOT } from './helpers.js';

const SRC = path.join(ROOT, 'src');
const files = (readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(SRC, f));
const sources = new Map(files.map((f) => [f, ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true)]));

/** The src/ files a file imports or re-exports from (relative specifiers, `import type` included). */
function importsOf(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  for (const n of sf.statements) {
    if (!(ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) || !n.moduleSpecifier || !ts.isStringLiteral(n.moduleSpecifier)) continue;
    const spec = n.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(sf.fileName), spec.replace(/\.js$/, '.ts'));
    if (sources.has(target)) out.push(target);
  }
  return out;
}

test('no import cycle in src/ (type imports included)', () => {
  const graph = new Map([...sources].map(([f, sf]) => [f, importsOf(sf)]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map((p) => path.relative(SRC, p)).join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const g of graph.get(f) ?? []) visit(g, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('no file in src/ over 300 lines, no function over 80', () => {
  const long: string[] = [];
  for (const [f, sf] of sources) {
    const lines = sf.getLineAndCharacterOfPosition(sf.getEnd()).line + 1;
    if (lines > 300) long.push(`${path.relative(SRC, f)}: ${lines} lines`);
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const a = sf.getLineAndCharacterOfPosition(n.getStart()).line;
        const b = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        if (b - a + 1 > 80) long.push(`${path.relative(SRC, f)}:${a + 1}: a function of ${b - a + 1} lines`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  assert.deepEqual(long, []);
});
