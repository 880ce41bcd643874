/**
 * Jest runs in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by `npm test`):
 * Nest 12 ships ESM only and CommonJS Jest cannot load it.
 *
 * ts-jest only transpiles (`diagnostics: false`): type errors in specs and test support are
 * caught once, for the whole tree, by `tsc --noEmit` in `npm run lint`, instead of per file on
 * every test run.
 */
const tsJest = [
  'ts-jest',
  { useESM: true, tsconfig: '<rootDir>/tsconfig.json', diagnostics: false },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': tsJest },
  moduleNameMapper: {
    '^@keel/([a-z]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^@keel/([a-z]+)/internal$': '<rootDir>/libs/$1/src/internal.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

export default {
  rootDir: '.',
  testTimeout: 30_000,
  // `npm run test:coverage` (the unit project; .ci/run prints its report). Every library source
  // file counts, loaded by a unit spec or not. Measured 50.6 / 49.3 / 45.2 / 51.7 % on 2026-12-03;
  // the thresholds sit about five points below, because code covered only by the integration
  // suites (a new store, a split class) lowers the unit figure without any test getting weaker,
  // and that must not turn CI red. Raise them when unit coverage rises.
  collectCoverageFrom: ['libs/*/src/**/*.ts', '!**/*.spec.ts'],
  coverageReporters: ['text', 'text-summary'],
  coverageThreshold: {
    global: { statements: 45, branches: 44, functions: 40, lines: 46 },
  },
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/libs/*/src/**/*.spec.ts', '<rootDir>/apps/*/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      // Service URLs chosen by `scripts/test-services.mjs ensure`; unit specs need none.
      setupFiles: ['<rootDir>/test/support/load-test-env.ts'],
      // One Redis Cluster for every cluster suite, started in the background (not awaited).
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
      testMatch: ['<rootDir>/libs/*/test/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
    },
  ],
};
