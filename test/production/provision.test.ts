import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import {
  ProvisionError,
  resolvePostgres,
  resolveTemporalServer,
  TEMPORAL_SERVER_VERSION,
  temporalServerDir,
} from '../../tools/provision';
import { run } from '../../tools/provision/util';

/**
 * Provisioning of what `npm run test:production` runs (tools/provision/temporal-server.ts, postgres.ts).
 * The runner has provisioned both before this file runs, so these see the warm cache.
 */
describe('provisioning of the production-shaped server', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'hero-flow-provision-'));
  const saved = process.env.POSTGRES_BIN_DIR;
  after(() => rmSync(scratch, { recursive: true, force: true }));
  afterEach(() => {
    if (saved === undefined) delete process.env.POSTGRES_BIN_DIR;
    else process.env.POSTGRES_BIN_DIR = saved;
  });

  it('serves the server, the SQL tool and the PostgreSQL schema from .temporal/ once built, and says so', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const install = await resolveTemporalServer((line) => lines.push(line));
    assert.ok(Date.now() - started < 5_000, 'a cache hit builds nothing');
    assert.deepEqual(lines.length, 1);
    assert.match(
      lines[0]!,
      new RegExp(`^Temporal server ${TEMPORAL_SERVER_VERSION.replace(/\./g, '\\.')}: cached \\(`),
    );
    assert.ok(install.server.startsWith(temporalServerDir()));
    for (const tool of [install.server, install.sqlTool]) {
      const version = await run(tool, ['--version'], { timeoutMs: 20_000 });
      assert.match(version.stdout, new RegExp(TEMPORAL_SERVER_VERSION.replace(/\./g, '\\.')));
    }
    for (const db of ['temporal', 'visibility']) {
      assert.ok(existsSync(join(install.postgresSchema, db, 'versioned')), `${db} schema versions`);
    }
  });

  it('finds PostgreSQL server binaries, and refuses a POSTGRES_BIN_DIR without them rather than falling back', async () => {
    const found = await resolvePostgres(() => undefined);
    assert.ok(found.major >= 12);
    assert.ok(existsSync(found.initdb) && existsSync(found.pgCtl));
    process.env.POSTGRES_BIN_DIR = scratch;
    await assert.rejects(
      resolvePostgres(() => undefined),
      (err: unknown) => {
        assert.ok(err instanceof ProvisionError);
        assert.match(
          err.message,
          /POSTGRES_BIN_DIR is set to ".*", which does not hold PostgreSQL 12\+'s initdb, pg_ctl, postgres/,
        );
        return true;
      },
    );
  });
});
