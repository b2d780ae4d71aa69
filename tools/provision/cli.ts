/**
 * `npm run provision` (also the `pretest` hook): makes sure a Temporal CLI (dev server), a
 * time-skipping test server (both provisioned into .temporal/ if needed) and Chromium are available.
 * `npm run provision -- --production` provides what `npm run test:production` runs instead: the
 * Temporal CLI, the Temporal server with its SQL schema tool (built into .temporal/), and PostgreSQL.
 */
import { defaultLog as log, ProvisionError } from './errors';
import { resolveChromium } from './chromium';
import { resolvePostgres } from './postgres';
import { resolveTemporalCli } from './temporal-cli';
import { resolveTemporalServer } from './temporal-server';
import { resolveTestServer } from './test-server';
import { seconds } from './util';

async function main(): Promise<number> {
  const started = Date.now();
  const timed = async (resolve: () => Promise<string>) => {
    const t = Date.now();
    const path = await resolve();
    return { path, took: seconds(t) };
  };
  const production = process.argv.includes('--production');
  const tasks: [string, () => Promise<string>][] = production
    ? [
        ['Temporal CLI (operator commands)', () => resolveTemporalCli(log)],
        ['Temporal server + SQL tool', async () => (await resolveTemporalServer(log)).server],
        ['PostgreSQL', async () => (await resolvePostgres(log)).binDir],
      ]
    : [
        ['Temporal CLI (dev server)', () => resolveTemporalCli(log)],
        ['time-skipping test server', () => resolveTestServer(log)],
        ['Chromium (UI test)', () => resolveChromium(log)],
      ];
  const results = await Promise.allSettled(tasks.map(([, resolve]) => timed(resolve)));
  const names = tasks.map(([name]) => name);
  const failures: string[] = [];
  log(`summary (${seconds(started)}):`);
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') log(`  ${names[i]}: ${r.value.path} (${r.value.took})`);
    else {
      log(`  ${names[i]}: FAILED`);
      const err = r.reason as Error;
      failures.push(err instanceof ProvisionError ? err.message : (err?.stack ?? String(err)));
    }
  });
  for (const message of failures) process.stderr.write(`\n[provision] error: ${message}\n`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[provision] error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
