// `engines` in package.json states the Node versions the whole installed tree declares support
// for, so `npm ci` has nothing to warn about (EBADENGINE) on any of them.
import { describe, expect, it } from '@jest/globals';
import { FileTypeValidator } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import semver from 'semver';

const ROOT = new URL('../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
  engines: { node: string };
  overrides: Record<string, unknown>;
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe('engines', () => {
  it('claims only Node versions every installed package declares it supports', () => {
    const narrower = Object.entries(lock.packages)
      .filter(([path]) => path !== '' && existsSync(new URL(path, ROOT)))
      .map(([path, pkg]) => [path, Array.isArray(pkg.engines) ? undefined : pkg.engines?.node])
      .filter(
        (entry): entry is [string, string] =>
          entry[1] !== undefined && !semver.subset(manifest.engines.node, entry[1]),
      )
      .map(([path, range]) => `${path.replace(/^.*node_modules\//, '')}: ${range}`);
    expect(narrower).toEqual([]);
  });

  it('includes the Node version running the tests', () => {
    expect(semver.satisfies(process.version, manifest.engines.node)).toBe(true);
  });

  it("keeps Nest's file-type validation working with the file-type version it is pinned to", async () => {
    // @nestjs/common 12 pins file-type 22 (Node >= 22) for FileTypeValidator alone, which imports
    // it lazily and calls fileTypeFromBuffer; the override gives it 21.x (Node >= 20), same API.
    const installed = Object.entries(lock.packages)
      .filter(([path]) => path.endsWith('node_modules/file-type'))
      .map(([, pkg]) => pkg.version);
    expect(installed).toEqual([manifest.overrides['file-type']]);
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489',
      'hex',
    );
    const gif = Buffer.from('474946383961010001000000002c', 'hex');
    const validator = new FileTypeValidator({ fileType: 'image/png' });
    await expect(validator.isValid({ mimetype: 'image/png', buffer: png } as never)).resolves.toBe(
      true,
    );
    // A GIF that claims to be a PNG is caught by its magic number, so file-type really ran.
    await expect(validator.isValid({ mimetype: 'image/png', buffer: gif } as never)).resolves.toBe(
      false,
    );
  });
});
