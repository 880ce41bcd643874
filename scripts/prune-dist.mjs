#!/usr/bin/env node
// `tsc -b` is incremental and never deletes what an earlier build emitted for a source that has
// since been removed or renamed. Such a stale file would be packed into a lib's tarball (and
// could be imported), so before each build this removes every built file in libs/<lib>/dist
// whose source no longer exists. It touches nothing else.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const BUILT = /\.(d\.ts|js|js\.map|d\.ts\.map)$/;

function prune(distDir, srcDir) {
  if (!existsSync(distDir)) return 0;
  let removed = 0;
  for (const entry of readdirSync(distDir)) {
    const built = join(distDir, entry);
    if (statSync(built).isDirectory()) {
      removed += prune(built, join(srcDir, entry));
      if (readdirSync(built).length === 0) rmSync(built, { recursive: true });
      continue;
    }
    if (!BUILT.test(entry)) continue;
    const source = join(srcDir, entry.replace(BUILT, '.ts'));
    if (!existsSync(source)) {
      rmSync(built);
      removed += 1;
    }
  }
  return removed;
}

let total = 0;
for (const lib of readdirSync(join(ROOT, 'libs'))) {
  total += prune(join(ROOT, 'libs', lib, 'dist'), join(ROOT, 'libs', lib, 'src'));
}
if (total > 0) console.log(`prune-dist: removed ${total} built file(s) whose source is gone`);
