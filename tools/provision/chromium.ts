import { existsSync } from 'node:fs';
import { ProvisionError, type ProvisionLog, defaultLog } from './errors';
import { describeExit, run, seconds, tail, which } from './util';

/** Debian's `chromium` package, or CHROMIUM_PATH: the browser of the Temporal UI test (test/ui.test.ts). */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/**
 * Makes sure Chromium is installed for the UI test: as root with apt-get (this project's machines),
 * installs Debian's `chromium`; elsewhere names what to do. Playwright's own browser download is
 * not used: it cannot reach its host from machines that only reach package registries.
 */
export async function resolveChromium(log: ProvisionLog = defaultLog): Promise<string> {
  const started = Date.now();
  const target = chromiumPath();
  if (existsSync(target)) {
    log(`Chromium: ${target} ${seconds(started)}`);
    return target;
  }
  const hint = "install Debian's chromium (`apt-get install chromium`) or set CHROMIUM_PATH to a Chromium binary";
  if (process.env.CHROMIUM_PATH)
    throw new ProvisionError(`CHROMIUM_PATH is set to "${target}", which does not exist; ${hint}.`);
  if (process.getuid?.() !== 0 || !which('apt-get')) throw new ProvisionError(`Chromium is not installed: ${hint}.`);

  log('Chromium: apt-get install chromium (Debian package, for the Temporal UI test)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const r = await run('apt-get', args, { env, timeoutMs: 15 * 60_000 });
    if (r.code !== 0) {
      throw new ProvisionError(
        `apt-get ${args[0]} failed (${describeExit(r)}); ${hint}.\n${tail(r.stderr + r.stdout)}`,
      );
    }
  }
  if (!existsSync(target)) throw new ProvisionError(`apt-get installed chromium but ${target} is missing; ${hint}.`);
  log(`Chromium ready in ${seconds(started)}: ${target}`);
  return target;
}
