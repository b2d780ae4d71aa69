/** Pinned Temporal CLI release built by `go install` when nothing else provides one. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
/** Pinned `io.temporal:temporal-test-server` release fetched from Maven Central when nothing else provides one. */
export const TEST_SERVER_VERSION = '1.38.0';

export const CLI_GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';
/** Release builds stamp the version with this ldflag; without it `temporal --version` says 0.0.0-DEV. */
export const CLI_VERSION_LDFLAG = 'github.com/temporalio/cli/temporalcli.Version';
export const TEST_SERVER_MAIN_CLASS = 'io.temporal.testserver.TestServer';
export const MAVEN_DEPENDENCY_PLUGIN_VERSION = '3.8.1';
