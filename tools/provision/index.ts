export { devServerTuningArgs, TEMPORAL_CLI_VERSION, TEST_SERVER_VERSION } from './constants';
export { ProvisionError, type ProvisionLog } from './errors';
export { cacheDir, projectRoot } from './paths';
export { devServerExecutable, resolveTemporalCli } from './temporal-cli';
export { resolveTestServer, testServerExecutable } from './test-server';
export { chromiumPath, resolveChromium } from './chromium';
