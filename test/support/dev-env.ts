import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from './processes';

export interface DevEnv {
  ports: { temporal: number; ui: number; sandbox: number; metrics: number; codec: number };
  /** For `npm run dev`: free ports, state in `dir`, a fresh key ring, Hero as the sandbox. */
  dev: NodeJS.ProcessEnv;
  /** For the CLI in "another terminal": the dev server's address and the same keys. */
  cli: NodeJS.ProcessEnv;
}

/** The environment of an `npm run dev` for one suite, and of a CLI that talks to it. */
export async function devEnvironment(dir: string, keyId: string): Promise<DevEnv> {
  const ports = {
    temporal: await freePort(),
    ui: await freePort(),
    sandbox: await freePort(),
    metrics: await freePort(),
    codec: await freePort(),
  };
  const keys = `${keyId}:${randomBytes(32).toString('base64')}`;
  // Hero staging and a workflow-ID secret from the caller's shell would change what dev does.
  const { HERO_API_KEY: _k, HERO_WORKFLOW_ID_SECRET: _s, ...base } = process.env;
  return {
    ports,
    dev: {
      ...base,
      HERO_DEV_TEMPORAL_PORT: String(ports.temporal),
      HERO_DEV_UI_PORT: String(ports.ui),
      HERO_DEV_SANDBOX_PORT: String(ports.sandbox),
      HERO_DEV_DB_FILE: join(dir, 'dev.sqlite'),
      HERO_METRICS_PORT: String(ports.metrics),
      HERO_DEV_CODEC_PORT: String(ports.codec),
      HERO_CODEC_KEYS: keys,
    },
    cli: { ...base, TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`, HERO_CODEC_KEYS: keys },
  };
}
