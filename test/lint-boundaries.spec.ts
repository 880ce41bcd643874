/**
 * The lint config's import boundaries (eslint.config.mjs): deep imports across libs, a sibling's
 * internals other than @keel/core/internal, and any internal entry in the demo are errors.
 * Each case lints a snippet as if it were a file at `path`, with the repository's config.
 */
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function restricted(path: string, specifier: string): Promise<string[]> {
  const code = `import { x } from '${specifier}';\nexport { x };\n`;
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  return result.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.fatal)
    .map((m) => m.message);
}

describe('lint: import boundaries between libs', () => {
  it.each([
    ['libs/locks/src/example.ts', '@keel/core/src/core.errors.js'],
    ['libs/locks/src/example.ts', '@keel/core/dist/index.js'],
    ['libs/locks/src/stores/example.ts', '../../../core/src/core.errors.js'],
    ['libs/locks/src/example.ts', '@keel/coordination/internal'],
    ['libs/registry/test/example.spec.ts', '../../locks/src/lock.service.js'],
    ['test/example.spec.ts', '../libs/registry/src/record.codec.js'],
    ['test/example.spec.ts', '@keel/registry/src/record.codec.js'],
    ['bench/example.bench.ts', '../libs/locks/src/stores/redis-lock.lua.js'],
    ['apps/demo/src/example.ts', '@keel/core/internal'],
    ['apps/demo/src/example.ts', '../../../libs/core/src/core.constants.js'],
  ])('%s may not import %s', async (path, specifier) => {
    const messages = await restricted(path, specifier);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/is restricted from being used by a pattern/);
  });

  it.each([
    ['libs/locks/src/example.ts', '@keel/core'],
    ['libs/locks/src/example.ts', '@keel/core/internal'],
    ['libs/locks/src/stores/example.ts', '../lock.service.js'],
    ['libs/locks/test/example.spec.ts', '../src/lock.service.js'],
    ['libs/locks/test/example.spec.ts', '../../../test/support/services.js'],
    ['test/example.spec.ts', '@keel/core/internal'],
    ['bench/example.bench.ts', '@keel/locks/internal'],
    ['apps/demo/src/example.ts', '@keel/core'],
  ])('%s may import %s', async (path, specifier) => {
    expect(await restricted(path, specifier)).toEqual([]);
  });
});
