import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKeelConfig, type KeelCoreSettings } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';

/** What a settings spec gives the core settings it resolves a module against. */
export interface CoreSettingsInput {
  /** The environment to read (never `process.env`). */
  readonly env?: Record<string, string>;
  /** The YAML file's text (JSON is YAML), written to a temporary `keel.yaml`. */
  readonly yaml?: string;
  /** Give core a Redis URL (the shared test server's address; nothing connects to it). */
  readonly redis?: boolean;
}

/**
 * Core settings as `KeelCoreModule` resolves them, from the given environment and YAML text
 * only, for `<lib>.settings.spec.ts`: `resolveLocksSettings({}, coreSettings({ yaml, env }))`.
 */
export function coreSettings(input: CoreSettingsInput = {}): KeelCoreSettings {
  let file: string | undefined;
  if (input.yaml !== undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'keel-settings-')), 'keel.yaml');
    writeFileSync(file, input.yaml);
  }
  return resolveCoreSettings({
    redis: input.redis === true ? 'redis://127.0.0.1:6379' : false,
    config: loadKeelConfig({ env: input.env ?? {}, file }),
  });
}
