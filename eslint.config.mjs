import js from '@eslint/js';
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

// The public/internal line between Keel's libs (test/lint-boundaries.spec.ts proves it fires).
// A lib is reached by its package name only: `@keel/<lib>`, or, from a sibling lib,
// `@keel/core/internal` — never `@keel/<lib>/src/...` or a relative path into another lib.
const LIBS = 'core|coordination|locks|registry|health|audit|messaging';
const DEEP_IMPORTS = [
  {
    regex: `^@keel/(${LIBS})/(?!internal$).+`,
    message: 'Import a Keel lib by its package name (@keel/<lib>): its files are not API.',
  },
  {
    regex: `^(\\.\\./)+(libs/)?(${LIBS})/(src|dist|test)(/|$)`,
    message:
      "Do not reach into another lib's folder: import its package (@keel/<lib>; a sibling lib may use @keel/core/internal).",
  },
];
const boundaries = (...extra) => ({
  'no-restricted-imports': ['error', { patterns: [...DEEP_IMPORTS, ...extra] }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'libs/*/dist/**', 'node_modules/**', 'coverage/**', '.test-services/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      // Policies wrap arbitrary user methods: `Function` is the honest type there.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  { files: ['**/*.{ts,mjs}'], rules: boundaries() },
  {
    files: ['libs/*/src/**/*.ts'],
    rules: boundaries({
      regex: '^@keel/(?!core/internal$)[a-z]+/internal$',
      message:
        "Only @keel/core/internal is shared between libs; another lib's internals are its own.",
    }),
  },
  {
    files: ['apps/**/*.ts'],
    rules: boundaries({
      regex: '^@keel/[a-z]+/internal$',
      message: 'The demo uses only public API, as an application would: import @keel/<lib>.',
    }),
  },
  {
    // Specs, and the contract suites and helpers they share (tests are declared there too).
    files: ['**/*.spec.ts', 'libs/*/test/**/*.ts', 'test/**/*.ts'],
    plugins: { jest },
    rules: {
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/valid-expect': 'error',
      // Assertions are `expect(...)`, the test tree's assertion helpers (by convention named
      // `expect…` and calling expect themselves, e.g. expectErrorsReachTheEdge in
      // test/support/error-edge.ts) and supertest's `request(server)....expect(status)`. A wait
      // (waitFor) is not one: a test that only waits for something still needs an expect.
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect*', 'request.**.expect'] }],
    },
  },
);
