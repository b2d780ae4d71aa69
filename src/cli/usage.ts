/**
 * The CLI's help texts. Kept apart from the commands, and free of Temporal and zod, so that `--help`
 * loads none of them. The sizes below are those of src/client/batch.ts (MAX_REQUEST_TEXT_BYTES,
 * MAX_JSON_ARRAY_BATCH_BYTES) and src/client/limit.ts; test/cli.test.ts holds them together.
 */

export const REQUEST_FILE_CAP = '64 KiB';
/** reviewResolutionSchema's actions and note length (src/workflows/schemas.ts); test/review-cli.test.ts holds them together. */
export const REVIEW_ACTIONS = ['resend', 'mark_sent', 'abandon'] as const;
export const REVIEW_NOTE_MAX = 500;
/** The receiver's defaults (src/webhooks); test/webhook-receiver.test.ts holds them together. */
export const WEBHOOK_DEFAULT_PORT = 8787;
export const WEBHOOK_BODY_CAP = '64 KiB';
export const JSON_ARRAY_BATCH_CAP = '16 MiB';
export const START_CONCURRENCY = 50;

export const EXIT_CODES = `Exit codes:
  0  done
  1  the operation failed (Temporal unreachable, the run refused it, a batch item not started, ...)
  2  usage or configuration error (a missing option, an invalid request or setting); nothing was done`;

export const OUTPUT = `Output: JSON on stdout. With --pretty, or when stdout is a terminal, a short summary for people
instead (--json keeps JSON). Errors: one message on stderr.`;

const examples = (lines: string[]) => `Examples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

const sections = (...parts: string[]) => '\n' + parts.join('\n\n');

export const TEMPORAL_ENV = `  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH,
  TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH (and _DATA forms), TEMPORAL_TLS_SERVER_NAME,
  TEMPORAL_GRPC_META_*, TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE
                         Temporal's standard connection settings (default localhost:7233, namespace default)
  HERO_ALLOW_INSECURE_CREDENTIALS=true
                         send TEMPORAL_API_KEY or credential headers without TLS to a server off this machine
                         (refused otherwise: they could be read on the way)
  HERO_TASK_QUEUE        task queue of workflows and activities (default hero-flow)`;

export const KEYS_ENV = `  HERO_CODEC_KEYS        "id:base64key,..." encrypts every payload (the first key encrypts, all decrypt).
                         Unset, in the directory where \`npm run dev\` ran and against its dev server
                         (localhost:7233 or HERO_DEV_TEMPORAL_PORT), the CLI uses .temporal/dev-codec-keys and
                         says so on stderr. --insecure-no-encryption runs without keys (synthetic data only).`;

export const TOP_HELP = sections(
  `Environment:
${TEMPORAL_ENV}
${KEYS_ENV}
  HERO_WORKFLOW_ID_SECRET
                         key for workflow IDs derived from the request when no --workflow-id is given
  HERO_FAIRNESS_WEIGHTS  practice-a=2,practice-b=1: each group's share of Hero's rate (default 1 each)
  HERO_TEMPORAL_UI_URL   base of the run links \`status\` prints (default http://localhost:8233, or
                         http://localhost:$HERO_DEV_UI_PORT when that is set)
  The worker and the codec server read more: see \`hero-flow worker --help\`, \`hero-flow codec-server --help\`.`,
  OUTPUT,
  examples([
    'hero-flow start --input examples/request.json --workflow-id referral-8812 --wait',
    'hero-flow status referral-8812',
    'hero-flow verify referral-8812',
    'hero-flow review list',
    'hero-flow webhooks',
    'hero-flow temporal workflow list',
    'hero-flow start --help',
  ]),
  EXIT_CODES,
);

export const WORKER_HELP = sections(
  `Runs until SIGINT or SIGTERM, then lets in-flight activities finish (HERO_SHUTDOWN_GRACE_SECONDS).
Every setting is checked before it connects; one message lists every problem.`,
  `Environment:
  HERO_API_KEY, HERO_PRACTICE_GROUP_ID   Hero partner credentials (required)
  HERO_PRACTICE_GROUP_IDS, HERO_API_KEYS_FILE, HERO_API_KEY_<GROUP>   several practice groups, each with its own key
  HERO_API_BASE_URL      default https://api.staging.htech.app (production: https://api.herohealth.net)
  HERO_HTTP_TIMEOUT_MS   per-request timeout (default 10000)
${KEYS_ENV}
${TEMPORAL_ENV}
  HERO_METRICS_PORT      serve Prometheus metrics (no authentication) on http://HOST:PORT/metrics
  HERO_METRICS_HOST      the IP address metrics listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  HERO_SHUTDOWN_GRACE_SECONDS, HERO_LOG_LEVEL, HERO_RATE_LIMIT_PER_SECOND, HERO_MAX_CONCURRENT_ACTIVITIES,
  HERO_MAX_CONCURRENT_WORKFLOW_TASKS, HERO_MAX_CACHED_WORKFLOWS   see docs/configuration.md`,
  examples([
    'HERO_API_KEY=... HERO_PRACTICE_GROUP_ID=... HERO_CODEC_KEYS=... hero-flow worker',
    'npm run dev      # a dev server, the Hero sandbox, the codec server and a worker, in one terminal',
  ]),
  `Exit codes:
  0  stopped by SIGINT or SIGTERM after draining
  1  failed while running (e.g. Temporal unreachable)
  2  configuration error; nothing was started`,
);

export const START_HELP = sections(
  `Validates the request (naming every problem, never a value) before anything reaches Temporal, and
prints {"workflowId", "runId"}; with --wait also "result", the run's outcome. FILE "-" reads stdin; a
file over ${REQUEST_FILE_CAP} is refused unread. Starting an ID already running for the same request returns
that run; for another request, or an ID whose run finished, it is refused (a patient is never messaged twice).`,
  `Environment: HERO_CODEC_KEYS, HERO_WORKFLOW_ID_SECRET, TEMPORAL_* (see hero-flow --help).`,
  OUTPUT,
  examples([
    'hero-flow start --input examples/request.json --workflow-id referral-8812',
    'hero-flow start --input examples/request.json --workflow-id referral-8813 --wait --pretty',
    'cat request.json | hero-flow start --input - --workflow-id referral-8814',
  ]),
  EXIT_CODES,
);

export const START_BATCH_HELP = sections(
  `FILE holds one {"workflowId": ID, "request": {...}} per line (JSON Lines, streamed, any length) or a JSON
array of them (at most ${JSON_ARRAY_BATCH_CAP}). Items start as they are read, N start requests at once. One JSON
line per item on stdout, started or why not; "alreadyRunning" / "alreadyFinished" for items already there,
so running the same file again starts only what is missing. Progress on stderr about once a second.
Ctrl-C or SIGTERM stops reading, lets the starts in flight finish, and says where to resume (--from).`,
  OUTPUT,
  examples([
    'hero-flow start-batch --input examples/batch.jsonl',
    'hero-flow start-batch --input practice-list.jsonl --concurrency 20',
    'hero-flow start-batch --input practice-list.jsonl --from 1200     # resume after an interruption',
  ]),
  `Exit codes:
  0  every item started or was already there
  1  some item was not started (its line has "error")
  2  usage error, or the file cannot be used; nothing was started
  130, 143  stopped by SIGINT or SIGTERM (the summary says where to resume)`,
);

const idCommandHelp = (what: string, lines: string[], extra: string[] = []) =>
  sections(what, ...extra, OUTPUT, examples(lines), EXIT_CODES);

export const STATUS_HELP = idCommandHelp(
  `Prints the run's status query: {"state", "loginUrl" (while the patient must verify), "attempts",
"updatedAt"}, with, once they apply, "bookingLinkId", "messages" (each sent message or reminder with Hero's
delivery status), "appointment" (once booked), "bookingWindowEndsAt" and "review" (step, reason, deadline
while in needs_review); and "uiUrl", the run's page in the Temporal UI (base: HERO_TEMPORAL_UI_URL, default
http://localhost:8233). A workflow ID with no run exits 1 and says so.`,
  ['hero-flow status referral-8812', 'hero-flow status referral-8812 --pretty'],
);

export const VERIFY_HELP = idCommandHelp(
  `Tells a run waiting for the patient's identity verification that the patient has verified, as an
update: the run asks Hero again at once, and the answer says what it found: {"accepted", "state",
"retraced", "found"} (found: patient, verification_required, patient_not_found, failed, cancelled).
A run that is not waiting refuses it (exit 1); a run that has finished says so, with its outcome (exit 1).
--signal sends the same as a fire-and-forget signal instead.`,
  ['hero-flow verify referral-8812', 'hero-flow verify referral-8812 --signal'],
);

export const RESULT_HELP = idCommandHelp(
  `Waits for the run to finish and prints its outcome: {"outcome": "completed", "patientId", "bookingLink",
"messageId"}, or patient_not_found, verification_expired, cancelled, needs_review. A run that failed exits 1
with its failure.`,
  ['hero-flow result referral-8812'],
);

export const CANCEL_HELP = idCommandHelp(
  `Requests cancellation of a running run: any Hero request in flight is aborted and the run ends with
the outcome "cancelled" (see it with \`hero-flow result\`). Prints {"workflowId", "cancelRequested": true}.
A run that has already finished is not touched: the answer says so, with its outcome, and exits 1.`,
  ['hero-flow cancel referral-8812'],
);

export const WEBHOOKS_HELP = sections(
  `Serves Hero's appointment webhooks (appointment.confirmed, .cancelled, .rescheduled) at POST /hero/webhooks,
and GET /healthz, until SIGINT or SIGTERM. Each delivery's X-Herohealth-Signature (HMAC-SHA256 of
"{X-Herohealth-Timestamp}.{body}" with the signing key; hex or base64, timestamp in Unix seconds, milliseconds
or ISO 8601, within the tolerance of now) is checked before its body is read as JSON: a bad one gets 401 and
starts nothing. A body over ${WEBHOOK_BODY_CAP} gets 413. An appointment event is made durable before the 200: it
starts a small workflow whose ID is the event and the appointment id, so a redelivery is processed once; that
workflow finds the run that sent the booking link and tells it. Other events, and other practice groups'
(HERO_PRACTICE_GROUP_ID), get 200 and change nothing. Temporal unreachable: 503, so Hero delivers again.
One log line per delivery on stderr: the event name, status and outcome, never the body or the key.
Subscribe the receiver in Hero with \`hero-flow webhooks register --url URL\`.`,
  `Environment:
  HERO_WEBHOOK_SIGNING_KEY   the key Hero signs with (required, at least 16 characters; never printed)
  HERO_WEBHOOK_PORT      default ${WEBHOOK_DEFAULT_PORT}
  HERO_WEBHOOK_HOST      default 127.0.0.1 (put it behind your TLS proxy; 0.0.0.0 to listen on every interface)
  HERO_WEBHOOK_TOLERANCE how far a delivery's timestamp may be from now, either way (default "5 minutes")
  HERO_PRACTICE_GROUP_ID when set, events of other practice groups are ignored
${KEYS_ENV}
${TEMPORAL_ENV}`,
  examples([
    'HERO_WEBHOOK_SIGNING_KEY=$(openssl rand -hex 32) HERO_CODEC_KEYS=... hero-flow webhooks',
    'hero-flow webhooks register --url https://hooks.example.com/hero/webhooks',
  ]),
  `Exit codes:
  0  stopped by SIGINT or SIGTERM
  1  failed (Temporal unreachable at start, the port in use)
  2  configuration error; nothing was started`,
);

export const WEBHOOKS_REGISTER_HELP = sections(
  `Subscribes URL to appointment.confirmed, appointment.cancelled and appointment.rescheduled in Hero
(POST /v1/webhooks), signed with HERO_WEBHOOK_SIGNING_KEY, for every practice group configured
(HERO_PRACTICE_GROUP_IDS, else HERO_PRACTICE_GROUP_ID), each with its own key: Hero keeps subscriptions per
key. --practice-group ID subscribes one of them only. Each event's subscriptions are listed first
(GET /v1/webhooks): one for the same URL is left as it is, so running it again changes nothing. Prints one
JSON line per practice group and event: {"event", "id", "created": true, "practiceGroupId"} or
{"event", "id", "existing": true, "practiceGroupId"}; an event that failed {"event", "practiceGroupId",
"error"}, and the other groups are still tried. Hero does not say which key an existing subscription uses:
after changing the key, delete the old subscriptions in Hero.`,
  `Environment:
  HERO_API_KEY, HERO_PRACTICE_GROUP_ID   Hero partner credentials (one practice group)
  HERO_PRACTICE_GROUP_IDS   several groups, comma-separated; their keys in HERO_API_KEY_<GROUP> or
                         HERO_API_KEYS_FILE (else HERO_API_KEY), as the worker reads them
  HERO_API_BASE_URL      default https://api.staging.htech.app (production: https://api.herohealth.net)
  HERO_WEBHOOK_SIGNING_KEY   the key Hero will sign with (required; the receiver's)`,
  OUTPUT,
  examples([
    'hero-flow webhooks register --url https://hooks.example.com/hero/webhooks',
    'hero-flow webhooks register --url https://hooks.example.com/hero/webhooks --practice-group 2',
    'hero-flow webhooks register --url http://127.0.0.1:8787/hero/webhooks --pretty',
  ]),
  `Exit codes:
  0  every event is subscribed for every group
  1  a call to Hero failed for some group (its lines say which; the other groups were still tried)
  2  usage or configuration error (an unknown --practice-group, an http:// URL off loopback); nothing was done`,
);

export const REVIEW_HELP = sections(
  `A run ends up in needs_review when Hero may or may not have created its booking link or sent its
message, and Hero could not tell. It waits there for an operator (7 days by default, then it ends
needs_review_expired). List them, check in Hero, and resolve each.`,
  examples([
    'hero-flow review list',
    'hero-flow review resolve referral-8812 --action mark_sent --note "seen in Hero"',
  ]),
  EXIT_CODES,
);

export const REVIEW_LIST_HELP = sections(
  `Prints one JSON line per running run in needs_review on this task queue: {"workflowId", "runId", "step",
"reason", "openedAt", "deadline"}, the earliest deadline first; "error" instead when a run's status could not
be read. No patient data. Runs are found through Temporal's visibility (HeroFlowState="needs_review"), which
may lag a second behind.`,
  OUTPUT,
  examples(['hero-flow review list', 'hero-flow review list --pretty']),
  EXIT_CODES,
);

export const REVIEW_RESOLVE_HELP = sections(
  `Gives a run in needs_review the operator's decision (update resolveReview) and prints its answer:
{"workflowId", "accepted", "action", "state"}. ACTION is one of:
  resend     Hero did not send it: send the message again
  mark_sent  Hero did send it: carry on as sent
  abandon    end the run (outcome abandoned)
--note is kept in the run's history (encrypted). A run not in review refuses it (exit 1); a finished run
says so with its outcome (exit 1).`,
  OUTPUT,
  examples([
    'hero-flow review resolve referral-8812 --action resend',
    'hero-flow review resolve referral-8812 --action mark_sent --note "delivered per Hero\'s message log"',
    'hero-flow review resolve referral-8812 --action abandon --pretty',
  ]),
  EXIT_CODES,
);

export const CODEC_SERVER_HELP = sections(
  `Serves Temporal's remote codec protocol (POST /encode, /decode) until SIGINT or SIGTERM, so that the
Temporal Web UI and CLI show payloads decrypted.`,
  `Environment:
  HERO_CODEC_KEYS        the key ring (required)
  HERO_CODEC_PORT        default 8888
  HERO_CODEC_HOST        default 127.0.0.1
  HERO_CODEC_CORS_ORIGINS   origins allowed to call it, e.g. http://localhost:8233
  HERO_CODEC_AUTH_TOKEN  bearer token callers must send (at least 16 characters; 32 off loopback)
  HERO_CODEC_NAMESPACES, HERO_CODEC_ALLOWED_HOSTS   see docs/patient-data.md, "Reading payloads in the Temporal UI"`,
  examples([
    'HERO_CODEC_KEYS=... HERO_CODEC_CORS_ORIGINS=http://localhost:8233 hero-flow codec-server',
    'temporal server start-dev --ui-codec-endpoint http://localhost:8888',
  ]),
  `Exit codes:
  0  stopped by SIGINT or SIGTERM
  1  failed (e.g. its port is in use)
  2  configuration error; nothing was started`,
);

export const KEYS_HELP = sections(
  `Manages payload encryption keys for HERO_CODEC_KEYS.`,
  examples(['hero-flow keys generate']),
  EXIT_CODES,
);

export const KEYS_GENERATE_HELP = sections(
  `Prints {"key": "k-YYYYMMDD-xxxx:BASE64", "howTo"}: a new 256-bit key with its id. Give workers, clients
and the codec server the same HERO_CODEC_KEYS; to rotate, put the new key first and keep the old ones
after it while their runs are retained. Nothing is stored.`,
  OUTPUT,
  examples(['hero-flow keys generate', 'hero-flow keys generate --pretty     # the key alone on its first line']),
  EXIT_CODES,
);

export const TEMPORAL_HELP = sections(
  `Runs the Temporal CLI with ARGS, passing the terminal through, and exits with its exit code. The CLI is
TEMPORAL_CLI_PATH, else \`temporal\` on PATH, else .temporal/bin/temporal in this directory (cached by
\`npm run provision\`, which npm run dev runs). For \`workflow …\` commands it adds
--codec-endpoint http://localhost:$HERO_DEV_CODEC_PORT (default 8888; the codec server of npm run dev),
unless --codec-endpoint or TEMPORAL_CODEC_ENDPOINT is given, so inputs, results and queries print
decoded; HERO_CODEC_AUTH_TOKEN is sent as its bearer token. With TEMPORAL_ADDRESS unset and
HERO_DEV_TEMPORAL_PORT set, it targets 127.0.0.1:$HERO_DEV_TEMPORAL_PORT. Options after the first
argument are the Temporal CLI's own: \`hero-flow temporal workflow list --help\` shows its help.`,
  examples([
    'hero-flow temporal workflow list',
    'hero-flow temporal workflow list --query \'HeroFlowState="awaiting_verification"\'',
    'hero-flow temporal workflow describe --workflow-id referral-8812',
    'hero-flow temporal workflow show --workflow-id referral-8812',
  ]),
  `Exit codes:
  the Temporal CLI's own; 1 when it cannot be found or run`,
);

// campaigns: client
export const CAMPAIGN_HELP = sections(
  `A campaign is a practice list handed over to Temporal once: each line {"recordId", "request"} becomes
one run (patientOutreachWorkflow), started by the campaign's page workflows, so the caller may exit, a
worker may crash and every record is still processed once. Sending hours default to 08:00-18:00,
Monday to Friday, Europe/London. Check a list first with \`campaign check\`.`,
  examples([
    'hero-flow campaign check --input examples/campaign.jsonl --template examples/campaign-template.json',
    'hero-flow campaign start --input examples/campaign.jsonl --template examples/campaign-template.json --campaign-id flu-2026',
    'hero-flow campaign watch flu-2026',
    'hero-flow campaign report flu-2026 --output flu-2026.csv',
  ]),
  EXIT_CODES,
);

const LIST_FORMAT = `FILE holds one {"recordId": ID, "request": {...}} per line (JSON Lines, read line by line; "-":
stdin). recordId is your own identifier for the line (1-64 letters, digits, _ or -; not patient data).
With --template, each request is merged over the template (objects key by key, the line wins; arrays and
values replaced), so lines need only nhsNumber, dob and what they override. A bad line is reported by
line number and reason (never its values) and left out. A recordId seen before is left out; the same
NHS number as an earlier record is kept as a duplicate that sends nothing (one message per patient).`;

export const CAMPAIGN_START_HELP = sections(
  LIST_FORMAT,
  `Hands the list over: the campaign workflow hero-campaign.ID, then page workflows of at most 500
records (and 1 MiB) each, which start the runs. It returns once Temporal holds the whole list (encrypted).
The same file again adds nothing ("alreadyHandedOver": true); a re-run after a crash starts only what is
missing. Another list under an existing ID is refused unless --append. Run IDs are keyed hashes of the NHS
number (HERO_WORKFLOW_ID_SECRET, else a key derived from HERO_CODEC_KEYS).
Sending hours: --send-between 08:00-18:00 --send-days mon-fri --timezone Europe/London (the default);
--send-anytime for none. --spread-over 3d staggers first messages over 3 days of sending hours.
Prints {"campaignId", "outcome", "alreadyHandedOver", "records", "pages", "invalid": [{"line", "reason"}],
"duplicates": [{"line", "recordId", "duplicateOf", "kind"}], "seconds", "uiUrl"}.`,
  OUTPUT,
  examples([
    'hero-flow campaign start --input list.jsonl --template template.json --campaign-id flu-2026',
    'hero-flow campaign start --input more.jsonl --template template.json --campaign-id flu-2026 --append',
    'hero-flow campaign start --input list.jsonl --campaign-id recall-b --spread-over 3d --practice-group 42',
  ]),
  `Exit codes:
  0  the list is handed over (or was already)
  1  handed over, but some lines were left out as invalid (listed in "invalid"); or Temporal failed
  2  usage error, an unusable list or template, no valid line, or another list under the ID; nothing started`,
);

export const CAMPAIGN_CHECK_HELP = sections(
  LIST_FORMAT,
  `Prints the report \`campaign start\` would give: {"lines", "records", "pages", "invalid", "duplicates"}.
Starts nothing and connects to nothing.`,
  OUTPUT,
  examples(['hero-flow campaign check --input list.jsonl --template template.json']),
  `Exit codes:
  0  every line is a valid record
  1  some lines are invalid (listed)
  2  usage error, or the list or template cannot be used`,
);

export const CAMPAIGN_STATUS_HELP = idCommandHelp(
  `Prints {"total", "started", "running", "finished", "byState", "byOutcome", "byExecutionStatus", "pages",
"pagesDone", "handedOver", "paused" (false, or {reason, by, at}), "cancelled", "sendWindow",
"nextSendingWindow", "sendingNow", "uiUrl"}: the campaign's own state and its runs' counts from Temporal's
visibility (which may lag a second), asked at once.`,
  ['hero-flow campaign status flu-2026', 'hero-flow campaign status flu-2026 --pretty'],
);

export const CAMPAIGN_WATCH_HELP = idCommandHelp(
  `Follows the campaign: on a terminal a progress bar (finished of total) on stderr; otherwise one line per
change on stdout (with --json, the status as JSON). Ends once every page is done and no run is running,
or on Ctrl-C.`,
  ['hero-flow campaign watch flu-2026', 'hero-flow campaign watch flu-2026 --interval 10 > progress.log'],
);

export const CAMPAIGN_LIST_HELP = idCommandHelp(
  `One JSON line per campaign: {"campaignId", "campaignStatus", "startedAt", "total", "pages", "pagesDone",
"started", "finished", "paused", "cancelled"}; "error" when its state could not be read.`,
  ['hero-flow campaign list', 'hero-flow campaign list --pretty'],
);

export const CAMPAIGN_PAUSE_HELP = idCommandHelp(
  `Pauses the campaign: no trace, message or reminder of its runs is sent, and no new run starts, until
\`campaign resume\`. Runs already waiting keep waiting. Answers once the campaign says paused.`,
  ['hero-flow campaign pause flu-2026 --reason "appointment book full"'],
);

export const CAMPAIGN_RESUME_HELP = idCommandHelp(`Carries on a paused campaign.`, [
  'hero-flow campaign resume flu-2026',
]);

export const CAMPAIGN_CANCEL_HELP = idCommandHelp(
  `Cancels the campaign (no more runs start), then every run of it that has not finished, 16 at a time,
until none is left: each ends "cancelled", with no message half-sent. A booked patient's run is not touched.
Prints {"campaignId", "cancelled", "runsCancelled", "remaining"}; exit 1 while runs remain.`,
  ['hero-flow campaign cancel flu-2026 --reason "clinic closed"'],
);

export const CAMPAIGN_REPORT_HELP = idCommandHelp(
  `Writes one row per record, during the campaign or after it: recordId, workflowId, state, outcome,
bookedAt, remindersSent, deliveryStatus, review, duplicateOf. CSV (RFC 4180) or JSON Lines; to stdout, or to
--output FILE (written beside it and renamed once whole). Streamed page by page: 100,000 rows never sit in
memory. Never an NHS number, date of birth, phone number or link. The format defaults to csv (jsonl when
FILE ends .jsonl).`,
  ['hero-flow campaign report flu-2026 --output flu-2026.csv', 'hero-flow campaign report flu-2026 --format jsonl'],
);
