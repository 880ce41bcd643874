/**
 * The public/internal line: each lib's `src/index.ts` is its public API and exports only symbols
 * documented `@publicApi`; what Keel's libraries share among themselves lives in
 * `@keel/<lib>/internal` and is never `@publicApi`. Users inject through `@InjectX()` helpers,
 * never raw tokens.
 */
import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  InjectKeelCoreSettings,
  KeelCoreModule,
  loadKeelConfig,
  type KeelCoreSettings,
} from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { BreakerStore, CoordinationModule, InjectBreakerStore } from '@keel/coordination';
import { InjectLockStore, LockStore, LocksModule } from '@keel/locks';
import { InjectRegistryStore, RegistryModule, RegistryStore } from '@keel/registry';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LIBS = ['core', 'coordination', 'locks', 'registry', 'health', 'audit', 'messaging'];
const ENTRIES = [
  ...LIBS.map((lib) => ({ lib, file: `libs/${lib}/src/index.ts`, internal: false })),
  { lib: 'core', file: 'libs/core/src/internal.ts', internal: true },
  { lib: 'coordination', file: 'libs/coordination/src/internal.ts', internal: true },
  { lib: 'locks', file: 'libs/locks/src/internal.ts', internal: true },
  { lib: 'registry', file: 'libs/registry/src/internal.ts', internal: true },
];

/** TSDoc tags of a declaration, including those on the statement a binding element is part of. */
function tagsOf(node: ts.Node): string[] {
  const tags = ts.getJSDocTags(node).map((tag) => tag.tagName.text);
  let up: ts.Node | undefined = node.parent;
  while (
    up &&
    (ts.isBindingElement(up) ||
      ts.isObjectBindingPattern(up) ||
      ts.isVariableDeclaration(up) ||
      ts.isVariableDeclarationList(up) ||
      ts.isVariableStatement(up) ||
      ts.isExportSpecifier(up) ||
      ts.isNamedExports(up) ||
      ts.isExportDeclaration(up))
  ) {
    tags.push(...ts.getJSDocTags(up).map((tag) => tag.tagName.text));
    up = up.parent;
  }
  return tags;
}

function exportedTags(): Map<string, { name: string; tags: string[] }[]> {
  const { config } = ts.readConfigFile(`${ROOT}tsconfig.json`, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const program = ts.createProgram(
    ENTRIES.map((e) => `${ROOT}${e.file}`),
    { ...options, noEmit: true },
  );
  const checker = program.getTypeChecker();
  const result = new Map<string, { name: string; tags: string[] }[]>();
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(`${ROOT}${entry.file}`);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${entry.file} did not load`);
    result.set(
      entry.file,
      checker.getExportsOfModule(module).map((symbol) => {
        const target =
          symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        const nodes = [...(symbol.declarations ?? []), ...(target.declarations ?? [])];
        return { name: symbol.name, tags: nodes.flatMap(tagsOf) };
      }),
    );
  }
  return result;
}

describe('public API', () => {
  const exported = exportedTags();

  it.each(ENTRIES.filter((e) => !e.internal).map((e) => e.file))(
    '%s exports only symbols documented @publicApi',
    (file) => {
      const offenders = exported
        .get(file)!
        .filter(({ tags }) => tags.includes('internal') || !tags.includes('publicApi'))
        .map(
          ({ name, tags }) => `${name} (${tags.includes('internal') ? '@internal' : 'untagged'})`,
        );
      expect(offenders).toEqual([]);
    },
  );

  it.each(ENTRIES.filter((e) => e.internal).map((e) => e.file))(
    '%s exports no @publicApi symbol (public ones belong in the index)',
    (file) => {
      const symbols = exported.get(file)!;
      expect(symbols.length).toBeGreaterThan(0);
      expect(symbols.filter(({ tags }) => tags.includes('publicApi')).map((s) => s.name)).toEqual(
        [],
      );
    },
  );
});

describe('@InjectX() helpers', () => {
  @Injectable()
  class Consumer {
    constructor(
      @InjectKeelCoreSettings() readonly settings: KeelCoreSettings,
      @InjectBreakerStore() readonly breakers: BreakerStore,
      @InjectLockStore() readonly locks: LockStore,
      @InjectRegistryStore() readonly registry: RegistryStore,
    ) {}
  }

  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'inject-helpers',
        config: loadKeelConfig({ env: {} }),
      }),
      CoordinationModule.forRoot({}),
      LocksModule.forRoot({}),
      RegistryModule.forRoot({}),
    ],
    providers: [Consumer],
  })
  class AppModule {}

  it('inject what the modules provide under their tokens', async () => {
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const consumer = app.get(Consumer);
      expect(consumer.settings).toBe(app.get(KEEL_CORE_SETTINGS));
      expect(consumer.settings.serviceName).toBe('inject-helpers');
      expect(consumer.breakers).toBe(app.get(BreakerStore));
      expect(consumer.locks).toBe(app.get(LockStore));
      expect(consumer.registry).toBe(app.get(RegistryStore));
    } finally {
      await app.close();
    }
  });
});
