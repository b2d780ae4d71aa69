import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/*
 * no-restricted-imports takes one setting per file (a later block replaces an earlier one, it does not
 * add to it), so each block below lists every restriction that applies to its files, from these parts.
 */

/** Every file of src/. */
const packagePatterns = [
  {
    group: ['**/tools/*', '**/test/*', '**/bench/*'],
    message: 'src/ is the shipped package: it must not import tools/, test/ or bench/.',
  },
  {
    // Paths under lib/ are the SDK's internals: they move or change between releases without notice.
    // src/observability/tracing.ts names one such path as a string for the worker's workflowModules,
    // which is no import, and src/shared/duration.ts says why msToNumber comes from the top level.
    group: ['@temporalio/*/lib', '@temporalio/*/lib/*'],
    message: "Import the Temporal SDK's public exports only (the package's top level), not its lib/ internals.",
  },
];

const noNodeBuiltins = (who) =>
  nodeBuiltins.map((name) => ({ name, message: `${who} must not import Node built-ins.` }));

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.temporal/',
      'test-artifacts/',
      'reports/',
      '.stryker-tmp*/',
      'bench/results/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: packagePatterns }] },
  },
  {
    // Hero's API client knows nothing of the layers above it: it imports src/shared only.
    files: ['src/hero/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...packagePatterns,
            {
              group: ['../*', '!../shared', '!../shared/*'],
              message: 'src/hero imports nothing of src/ but src/shared.',
            },
          ],
        },
      ],
    },
  },
  {
    // The bottom layer: every other folder imports it, the workflow bundle included, so it imports no
    // other folder of src/ and no Node built-in.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNodeBuiltins('src/shared (imported by workflow code)'),
          patterns: [
            ...packagePatterns,
            {
              group: ['../*'],
              message:
                'src/shared is the bottom layer: it imports no other folder of src/ (move the code down into shared).',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNodeBuiltins('Workflow code'),
          patterns: [
            ...packagePatterns,
            {
              group: ['../activities', '../activities/*'],
              importNamePattern: '^(?!type )',
              allowTypeImports: true,
              message: 'Workflows import activity types only.',
            },
            {
              group: ['../hero/client', '../hero/http*', '../worker/*', '../client/*'],
              message: 'Workflows must not import I/O code.',
            },
          ],
        },
      ],
    },
  },
);
