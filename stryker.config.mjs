// @ts-check
/**
 * Mutation testing (`npm run test:mutation`; not part of `npm test` or CI): StrykerJS plants small bugs
 * in a module and runs that module's fast unit-level tests (no Temporal server) through node:test; a
 * mutant no test notices is a gap. One group per module, each with only the test files that exercise it,
 * so a mutant costs seconds, not the whole suite. test/support/mutation.mjs runs the groups one after
 * another (MUTATION_GROUP picks one here).
 */

/** @type {Record<string, { mutate: string[]; tests: string[] }>} */
export const groups = {
  webhooks: {
    mutate: ['src/webhooks/signature.ts'],
    tests: ['test/webhook-signature.test.ts'],
  },
  schemas: {
    mutate: ['src/workflows/schemas.ts', 'src/hero/schemas.ts'],
    // Server-free tests only: hero-client.test.ts waits on a local Hero stub and timed out under load.
    tests: [
      'test/guards-schemas.test.ts',
      'test/contract.test.ts',
      'test/workflow-id.test.ts',
      'test/run-request-fields.test.ts',
      'test/campaign-file.test.ts',
      'test/guards-client.test.ts',
      'test/send-window.test.ts',
    ],
  },
  shared: {
    mutate: ['src/shared/*.ts', '!src/shared/index.ts'],
    tests: [
      'test/guards-shared.test.ts',
      'test/redact.test.ts',
      'test/workflow-id.test.ts',
      'test/failure-types.test.ts',
      'test/guards-schemas.test.ts',
    ],
  },
  client: {
    mutate: ['src/client/workflow-id.ts', 'src/client/fingerprint.ts', 'src/client/limit.ts'],
    tests: ['test/guards-client.test.ts', 'test/workflow-id.test.ts', 'test/batch.test.ts'],
  },
  'client-batch': {
    mutate: ['src/client/batch.ts', 'src/client/batch-run.ts', 'src/client/prepare.ts'],
    // Server-free only. prepare.ts is exercised mostly by run-request-fields and campaign-file (campaign lists
    // are prepared request by request); fingerprint.test.ts also reaches it but takes ~16 s a run.
    tests: [
      'test/guards-client-batch.test.ts',
      'test/batch.test.ts',
      'test/workflow-id.test.ts',
      'test/run-request-fields.test.ts',
      'test/campaign-file.test.ts',
    ],
  },
  'hero-inputs': {
    mutate: ['src/shared/nhs-number.ts', 'src/hero/dob.ts', 'src/hero/retry-after.ts'],
    tests: ['test/guards-hero.test.ts', 'test/hero-client.test.ts', 'test/workflow-id.test.ts'],
  },
  hero: {
    mutate: ['src/hero/inferred.ts', 'src/hero/errors.ts', 'src/hero/config.ts'],
    tests: [
      'test/guards-hero.test.ts',
      'test/hero-client.test.ts',
      'test/hero-answers.test.ts',
      'test/failure-types.test.ts',
      'test/temporal-config.test.ts',
      'test/workflow-id.test.ts',
    ],
  },
  'hero-client': {
    mutate: ['src/hero/client.ts'],
    tests: ['test/hero-client.test.ts', 'test/hero-answers.test.ts', 'test/failure-types.test.ts'],
  },
  codec: {
    mutate: ['src/codec/encryption-codec.ts', 'src/codec/keys.ts', 'src/codec/protocol.ts'],
    tests: ['test/codec-vectors.test.ts', 'test/guards-codec.test.ts', 'test/codec.test.ts'],
  },
  'codec-server': {
    mutate: [
      'src/codec/server.ts',
      'src/codec/server-config.ts',
      'src/codec/server-options.ts',
      'src/codec/data-converter.ts',
      'src/codec/failure-converter.ts',
      'src/codec/errors.ts',
    ],
    tests: ['test/guards-codec-server.test.ts', 'test/guards-codec.test.ts', 'test/codec.test.ts'],
  },
  priority: {
    mutate: ['src/shared/priority.ts', 'src/config/priority.ts'],
    tests: ['test/guards-priority.test.ts'],
  },
  campaign: {
    mutate: [
      'src/shared/send-window.ts',
      'src/client/campaign/list.ts',
      'src/client/campaign/template.ts',
      'src/client/campaign/report.ts',
    ],
    tests: ['test/send-window.test.ts', 'test/campaign-file.test.ts', 'test/guards-campaign.test.ts'],
  },
};

const name = process.env.MUTATION_GROUP ?? 'webhooks';
const group = groups[name];
if (!group) throw new Error(`MUTATION_GROUP must be one of ${Object.keys(groups).join(', ')}`);
// A focused re-run (checking that new tests kill a run's survivors): MUTATION_MUTATE lists Stryker mutate
// patterns, comma-separated, which may be ranges (`src/codec/keys.ts:14-15`, `src/codec/keys.ts:14:16-14:80`);
// MUTATION_TESTS replaces the group's test files. Its reports are <group>-focused.*, beside the full ones.
const focused = Boolean(process.env.MUTATION_MUTATE);
const mutate = focused
  ? String(process.env.MUTATION_MUTATE)
      .split(',')
      .map((m) => m.trim())
  : group.mutate;
const tests = process.env.MUTATION_TESTS ? process.env.MUTATION_TESTS.split(/[\s,]+/).filter(Boolean) : group.tests;
const report = focused ? `${name}-focused` : name;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: {
    command: `node --import tsx --test --test-concurrency=1 --test-timeout=20000 ${tests.join(' ')}`,
  },
  coverageAnalysis: 'off',
  mutate,
  // Two cores shared with other work: one mutant at a time by default (MUTATION_CONCURRENCY to change).
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 10_000,
  // Not incremental: the command runner reports one test for the whole command, so Stryker cannot see that a
  // test changed and would keep a survivor's stale result.
  incremental: false,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: focused ? '.stryker-tmp-focused' : '.stryker-tmp',
  ignorePatterns: ['dist', '.temporal', 'test-artifacts', 'reports', 'bench/results', '*.log', '.stryker-tmp*'],
  cleanTempDir: true,
};
