import { formatBytes, MAX_JSON_ARRAY_BATCH_BYTES, MAX_REQUEST_TEXT_BYTES } from '../client/batch';
import { DEFAULT_START_CONCURRENCY } from '../client/limit';

/** The CLI's help text; kept apart from the commands so `--help` loads no Temporal code. */
export const USAGE = `Usage: hero-flow <command> [options]

Commands:
  worker                                   run a worker (env: HERO_API_KEY, HERO_PRACTICE_GROUP_ID, HERO_CODEC_KEYS, ...)
  start --input FILE [--workflow-id ID] [--wait]
                                           start an outreach run (FILE "-" reads stdin; at most ${formatBytes(MAX_REQUEST_TEXT_BYTES)});
                                           prints {workflowId, runId}
  start-batch --input FILE [--concurrency N] [--from INDEX]
                                           start a practice list: FILE is JSON Lines (streamed, any length) or a
                                           JSON array (at most ${formatBytes(MAX_JSON_ARRAY_BATCH_BYTES)}) of {"workflowId": ID, "request": {...}};
                                           prints one JSON line per item, started or why not, and exits 1 if any
                                           was not started; progress on stderr. N start requests in flight at once
                                           (default ${DEFAULT_START_CONCURRENCY}); re-running the same file starts only what is missing
                                           (running: "alreadyRunning", finished: "alreadyFinished"); a workflow ID
                                           running for another request is an error. Ctrl-C stops reading, lets the
                                           starts in flight finish and prints where to resume (--from INDEX)
  status ID                                print the run's status query
  verify ID [--signal]                     tell the run the patient has verified (an update: exits 1 if the run
                                           is not waiting for verification; --signal sends it fire-and-forget)
  result ID                                wait for the run and print its result
  cancel ID                                request cancellation of the run
  codec-server                             serve Temporal's remote codec protocol, so the Web UI decodes payloads
                                           (env: HERO_CODEC_KEYS, HERO_CODEC_PORT, HERO_CODEC_HOST, HERO_CODEC_CORS_ORIGINS,
                                           HERO_CODEC_AUTH_TOKEN, HERO_CODEC_NAMESPACES, HERO_CODEC_ALLOWED_HOSTS)
  keys generate                            print a new key for HERO_CODEC_KEYS (put it first to rotate)

Payloads are encrypted with HERO_CODEC_KEYS ("id:base64key,..."; the first key encrypts, all decrypt).
--insecure-no-encryption runs worker and client commands without it, for synthetic data only.

Temporal connection: Temporal's standard settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, their
_DATA forms, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*, or a temporal.toml profile: TEMPORAL_CONFIG_FILE,
TEMPORAL_PROFILE); task queue: HERO_TASK_QUEUE.

Exit codes: 0 done, 1 the operation failed, 2 usage or configuration error.`;
