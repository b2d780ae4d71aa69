export {
  devServerTuningArgs,
  PRIORITY_FAIRNESS_DYNAMIC_CONFIG,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_SERVER_VERSION,
  TEST_SERVER_VERSION,
} from './constants';
export { ProvisionError, type ProvisionLog } from './errors';
export { cacheDir, projectRoot } from './paths';
export { devServerExecutable, resolveTemporalCli } from './temporal-cli';
export { resolveTestServer, testServerExecutable } from './test-server';
export { chromiumPath, resolveChromium } from './chromium';
export { resolveTemporalServer, temporalServerDir, type TemporalServerInstall } from './temporal-server';
export { resolvePostgres, type PostgresInstall } from './postgres';
