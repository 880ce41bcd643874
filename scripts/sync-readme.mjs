#!/usr/bin/env node
// Each library's README (libs/<lib>/README.md) is the one source of its documentation; the root
// README carries a copy of it between `<!-- lib:<name> -->` and `<!-- /lib:<name> -->`, headings
// demoted one level. `node scripts/sync-readme.mjs` rewrites the copies; `--check` exits 1 when
// one is stale (the README test runs the check).
import { readFileSync, writeFileSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
const rootPath = new URL('README.md', ROOT);
const check = process.argv.includes('--check');

export function demote(markdown) {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      return !fenced && /^#{1,5} /.test(line) ? `#${line}` : line;
    })
    .join('\n')
    .trim();
}

export function sync(readme, readLib) {
  return readme.replace(
    /<!-- lib:([a-z]+) -->[\s\S]*?<!-- \/lib:\1 -->/g,
    (_, name) => `<!-- lib:${name} -->\n${demote(readLib(name))}\n<!-- /lib:${name} -->`,
  );
}

const current = readFileSync(rootPath, 'utf8');
const next = sync(current, (name) => readFileSync(new URL(`libs/${name}/README.md`, ROOT), 'utf8'));
if (check) {
  if (next !== current) {
    console.error(
      'README.md is out of date with libs/*/README.md: run node scripts/sync-readme.mjs',
    );
    process.exit(1);
  }
} else if (next !== current) {
  writeFileSync(rootPath, next);
  console.log('README.md updated');
}
