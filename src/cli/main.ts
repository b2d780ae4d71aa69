import { Command, type CommanderError, Option } from 'commander';
import { CliError, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import * as usage from './usage';

/**
 * The `hero-flow` executable's entry. Parsing and help are commander's; the commands' code (and with
 * it the Temporal client) is loaded only when one runs, so `--help`, of the program or of any command,
 * loads no Temporal code, connects to nothing and starts nothing. Exit codes: 0 done, 1 the operation
 * failed, 2 usage or configuration error.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- each command group is loaded when one of its commands runs */
const runs = () => require('./runs') as typeof import('./runs');
const startBatchCommands = () => require('./start-batch') as typeof import('./start-batch');
const reviewCommands = () => require('./review') as typeof import('./review');
const campaignCommands = () => require('./campaign') as typeof import('./campaign');
const webhookCommands = () => require('./webhooks') as typeof import('./webhooks');
const workerCommand = () => require('./worker') as typeof import('./worker');
const codecServerCommand = () => require('./codec-server') as typeof import('./codec-server');
const describeError = (err: unknown) =>
  (require('./describe-error') as typeof import('./describe-error')).describeError(err);
/* eslint-enable @typescript-eslint/no-require-imports */
type Runs = ReturnType<typeof runs>;
/** Masks patient data in a message; loaded on error only (it brings zod, which help does not need). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const redact = (text: string) => (require('../shared/redact') as typeof import('../shared/redact')).redact(text);

const clientOptions = () => [
  new Option('--insecure-no-encryption', 'without HERO_CODEC_KEYS: payloads stored in plaintext (synthetic data only)'),
  ...outputOptions(),
];

const outputOptions = () => [
  new Option('--pretty', 'print a short summary for people instead of JSON').conflicts('json'),
  new Option('--json', 'print JSON even when stdout is a terminal'),
];

/** The command's full name, e.g. "hero-flow keys generate". */
const fullName = (cmd: Command): string => (cmd.parent ? `${fullName(cmd.parent)} ${cmd.name()}` : cmd.name());

export function buildProgram(setExitCode: (code: number) => void): Command {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require('../../package.json') as { version: string };
  const program = new Command('hero-flow')
    .usage('<command> [options]')
    .description('Durable patient outreach for the Hero Health partner API, on Temporal.')
    .version(version, '-V, --version', "print hero-flow's version")
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    // Everything after a command's name is the command's: `temporal` passes its options on untouched.
    .enablePositionalOptions()
    .configureOutput({ outputError: (text, write) => write(`hero-flow: ${redact(text.replace(/^error: /, ''))}`) })
    .exitOverride((err: CommanderError) => {
      const ok =
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        (err.code === 'commander.help' && err.exitCode === 0);
      process.exit(ok ? EXIT_OK : EXIT_USAGE);
    })
    .addHelpText('after', usage.TOP_HELP);

  /** Runs a command's action: its exit code, or its usage error shown with the command's usage. */
  const action =
    <A extends unknown[]>(cmd: Command, fn: (...args: A) => number | Promise<number>) =>
    async (...args: A) => {
      try {
        setExitCode(await fn(...args));
      } catch (err) {
        if (err instanceof UsageError) cmd.error(err.message, { exitCode: EXIT_USAGE, code: 'hero-flow.usage' });
        throw err;
      }
    };

  const withOptions = (cmd: Command, options: Option[]) => {
    options.forEach((o) => cmd.addOption(o));
    return cmd;
  };

  const worker = withOptions(
    program
      .command('worker')
      .description('run a worker: polls the task queue and calls Hero, until SIGINT or SIGTERM')
      .usage('[--insecure-no-encryption]')
      .addHelpText('after', usage.WORKER_HELP),
    [new Option('--insecure-no-encryption', 'accept and write payloads in plaintext (synthetic data only)')],
  );
  worker.action(action(worker, (opts: { insecureNoEncryption?: boolean }) => workerCommand().worker(opts)));

  const start = withOptions(
    program
      .command('start')
      .description('start an outreach run from a JSON request; prints {workflowId, runId}')
      .usage('--input FILE [--workflow-id ID] [--wait] [options]')
      .option('-i, --input <file>', `the request as JSON ("-": stdin; at most ${usage.REQUEST_FILE_CAP})`)
      .option('--workflow-id <id>', 'your business ID for the run (else derived with HERO_WORKFLOW_ID_SECRET)')
      .option('--wait', 'wait for the run to finish and print its result too')
      .option('--priority <1-4>', 'task-queue priority: 1 is served first (default 2; campaign runs are 3)')
      .addHelpText('after', usage.START_HELP),
    clientOptions(),
  );
  start.action(action(start, (opts: Parameters<Runs['start']>[0]) => runs().start(opts)));

  const startBatch = withOptions(
    program
      .command('start-batch')
      .description('start a practice list (JSON Lines of {workflowId, request}); one JSON line per item')
      .usage('--input FILE [--concurrency N] [--from INDEX] [options]')
      .option('-i, --input <file>', `JSON Lines, or a JSON array of at most ${usage.JSON_ARRAY_BATCH_CAP} ("-": stdin)`)
      .option('--concurrency <n>', `start requests in flight at once (default ${usage.START_CONCURRENCY})`)
      .option('--from <index>', 'skip the items before this index (0-based), to resume')
      .option('--priority <1-4>', "the runs' task-queue priority: 1 is served first (default 2)")
      .addHelpText('after', usage.START_BATCH_HELP),
    clientOptions(),
  );
  startBatch.action(
    action(startBatch, (opts: Parameters<ReturnType<typeof startBatchCommands>['startBatchCommand']>[0]) =>
      startBatchCommands().startBatchCommand(opts),
    ),
  );

  const byId = (name: 'status' | 'verify' | 'result' | 'cancel', description: string, help: string) =>
    withOptions(
      program
        .command(name)
        .description(description)
        .usage('<workflow-id> [options]')
        .argument('<workflow-id>', "the run's workflow ID")
        .addHelpText('after', help),
      clientOptions(),
    );

  const status = byId('status', "print the run's state, login URL while waiting, and UI link", usage.STATUS_HELP);
  status.action(action(status, (id: string, opts: Parameters<Runs['status']>[1]) => runs().status(id, opts)));

  const verify = byId(
    'verify',
    'tell a waiting run the patient has verified; prints what its re-trace found',
    usage.VERIFY_HELP,
  ).option('--signal', 'send a fire-and-forget signal instead of an update');
  verify.action(action(verify, (id: string, opts: Parameters<Runs['verify']>[1]) => runs().verify(id, opts)));

  const result = byId('result', 'wait for the run to finish and print its outcome', usage.RESULT_HELP);
  result.action(action(result, (id: string, opts: Parameters<Runs['result']>[1]) => runs().result(id, opts)));

  const cancel = byId('cancel', 'cancel a running run (a finished one is reported, not touched)', usage.CANCEL_HELP);
  cancel.action(action(cancel, (id: string, opts: Parameters<Runs['cancel']>[1]) => runs().cancel(id, opts)));

  const webhooks = withOptions(
    program
      .command('webhooks')
      .description("receive Hero's appointment webhooks (POST /hero/webhooks), until SIGINT or SIGTERM")
      .usage('[--insecure-no-encryption] | register --url URL')
      .addHelpText('after', usage.WEBHOOKS_HELP),
    [
      new Option(
        '--insecure-no-encryption',
        'without HERO_CODEC_KEYS: payloads stored in plaintext (synthetic data only)',
      ),
    ],
  );
  // It runs a receiver and has a subcommand: a misspelt subcommand is named as one, not taken as an argument.
  webhooks.allowExcessArguments(true);
  webhooks.action(
    action(webhooks, (opts: { insecureNoEncryption?: boolean }) => {
      if (webhooks.args.length) (webhooks as unknown as { unknownCommand(): never }).unknownCommand();
      return webhookCommands().webhooks(opts);
    }),
  );
  const register = withOptions(
    webhooks
      .command('register')
      .description('subscribe a receiver URL to the appointment events in Hero (skips those already there)')
      .usage('--url URL [--practice-group ID] [options]')
      .option('--url <url>', 'the receiver as Hero reaches it, e.g. https://hooks.example.com/hero/webhooks')
      .option('--practice-group <id>', 'only this one of the configured practice groups (default: every one)')
      .addHelpText('after', usage.WEBHOOKS_REGISTER_HELP),
    outputOptions(),
  );
  register.action(
    action(register, (opts: Parameters<ReturnType<typeof webhookCommands>['webhooksRegister']>[0]) =>
      webhookCommands().webhooksRegister(opts),
    ),
  );

  const review = program
    .command('review')
    .description('runs waiting for an operator: list them, resolve one')
    .usage('list | resolve <workflow-id> --action ACTION [options]')
    .addHelpText('after', usage.REVIEW_HELP);
  const reviewList = withOptions(
    review
      .command('list')
      .description('one JSON line per run in needs_review: its step, reason and deadline (no patient data)')
      .usage('[options]')
      .addHelpText('after', usage.REVIEW_LIST_HELP),
    clientOptions(),
  );
  reviewList.action(
    action(reviewList, (opts: Parameters<ReturnType<typeof reviewCommands>['reviewList']>[0]) =>
      reviewCommands().reviewList(opts),
    ),
  );
  const reviewResolve = withOptions(
    review
      .command('resolve')
      .description("give a run in review the operator's decision: resend, mark_sent or abandon")
      .usage(`<workflow-id> --action ${usage.REVIEW_ACTIONS.join('|')} [--note TEXT] [options]`)
      .argument('<workflow-id>', "the run's workflow ID")
      .option('--action <action>', `${usage.REVIEW_ACTIONS.join(', ')}`)
      .option('--note <text>', `why, for the run's history (at most ${usage.REVIEW_NOTE_MAX} characters)`)
      .addHelpText('after', usage.REVIEW_RESOLVE_HELP),
    clientOptions(),
  );
  reviewResolve.action(
    action(reviewResolve, (id: string, opts: Parameters<ReturnType<typeof reviewCommands>['reviewResolve']>[1]) =>
      reviewCommands().reviewResolve(id, opts),
    ),
  );

  // campaigns: client
  const campaign = program
    .command('campaign')
    .description('a practice list as one campaign: hand it over, follow it, pause, resume, cancel, report')
    .usage('start|check|status|watch|list|pause|resume|cancel|report [options]')
    .addHelpText('after', usage.CAMPAIGN_HELP);
  type Campaigns = ReturnType<typeof campaignCommands>;
  const listOptions = (cmd: Command, withStart: boolean) => {
    cmd
      .option('-i, --input <file>', 'the list: JSON Lines of {"recordId", "request"} ("-": stdin)')
      .option('--template <file>', "the requests' shared part (JSON), merged under each line's request")
      .option('--campaign-id <id>', 'your name for the campaign: 1-64 letters, digits, _ or -')
      .option('--practice-group <id>', "the Hero practice group its runs call for (default: the worker's)")
      .option('--send-between <hh:mm-hh:mm>', 'local sending hours (default 08:00-18:00)')
      .option('--send-days <days>', 'sending days, e.g. mon-fri (default), mon,wed,fri')
      .option('--timezone <iana>', 'time zone of the sending hours (default Europe/London)')
      .option('--send-anytime', 'no sending hours: messages go out at any time');
    if (withStart) {
      cmd
        .option('--spread-over <duration>', 'stagger first messages over this much sending time, e.g. 3d')
        .option('--append', 'add this list to a campaign that already holds another')
        .option(
          '--priority <1-4>',
          "its runs' task-queue priority: 1 is served first (default 3, behind single runs' 2)",
        );
    }
    return cmd;
  };
  const campaignStart = withOptions(
    listOptions(
      campaign
        .command('start')
        .description('hand a list over to Temporal; returns once all of it is held durably')
        .usage('--input FILE --campaign-id ID [--template FILE] [--practice-group PG] [options]')
        .addHelpText('after', usage.CAMPAIGN_START_HELP),
      true,
    ),
    clientOptions(),
  );
  campaignStart.action(
    action(campaignStart, (opts: Parameters<Campaigns['campaignStart']>[0]) => campaignCommands().campaignStart(opts)),
  );
  const campaignCheck = withOptions(
    listOptions(
      campaign
        .command('check')
        .description('validate a list: invalid lines and duplicates, by line number; starts nothing')
        .usage('--input FILE [--template FILE] [options]')
        .addHelpText('after', usage.CAMPAIGN_CHECK_HELP),
      false,
    ),
    outputOptions(),
  );
  campaignCheck.action(
    action(campaignCheck, (opts: Parameters<Campaigns['campaignCheck']>[0]) => campaignCommands().campaignCheck(opts)),
  );
  const campaignById = (name: string, description: string, help: string) =>
    withOptions(
      campaign
        .command(name)
        .description(description)
        .usage('<campaign-id> [options]')
        .argument('<campaign-id>', "the campaign's ID")
        .addHelpText('after', help),
      clientOptions(),
    );
  const campaignStatus = campaignById(
    'status',
    'print its counts by state and outcome, pause, and next sending window (JSON)',
    usage.CAMPAIGN_STATUS_HELP,
  );
  campaignStatus.action(
    action(campaignStatus, (id: string, opts: Parameters<Campaigns['campaignStatus']>[1]) =>
      campaignCommands().campaignStatus(id, opts),
    ),
  );
  const campaignWatch = campaignById(
    'watch',
    'follow its progress: a bar on a terminal, plain lines otherwise',
    usage.CAMPAIGN_WATCH_HELP,
  ).option('--interval <seconds>', 'how often to look (default 2)');
  campaignWatch.action(
    action(campaignWatch, (id: string, opts: Parameters<Campaigns['campaignWatch']>[1]) =>
      campaignCommands().campaignWatch(id, opts),
    ),
  );
  const campaignListCmd = withOptions(
    campaign
      .command('list')
      .description('one JSON line per campaign, with its counts')
      .usage('[options]')
      .addHelpText('after', usage.CAMPAIGN_LIST_HELP),
    clientOptions(),
  );
  campaignListCmd.action(
    action(campaignListCmd, (opts: Parameters<Campaigns['campaignList']>[0]) => campaignCommands().campaignList(opts)),
  );
  const campaignPause = campaignById(
    'pause',
    'stop new Hero work for the campaign (answers once paused)',
    usage.CAMPAIGN_PAUSE_HELP,
  ).option('--reason <text>', 'why, shown by status (at most 500 characters)');
  campaignPause.action(
    action(campaignPause, (id: string, opts: Parameters<Campaigns['campaignPause']>[1]) =>
      campaignCommands().campaignPause(id, opts),
    ),
  );
  const campaignResume = campaignById('resume', 'carry on after a pause', usage.CAMPAIGN_RESUME_HELP);
  campaignResume.action(
    action(campaignResume, (id: string, opts: Parameters<Campaigns['campaignResume']>[1]) =>
      campaignCommands().campaignResume(id, opts),
    ),
  );
  const campaignCancel = campaignById(
    'cancel',
    'cancel the campaign and every run not finished (booked runs are left alone)',
    usage.CAMPAIGN_CANCEL_HELP,
  ).option('--reason <text>', 'why, shown by status (at most 500 characters)');
  campaignCancel.action(
    action(campaignCancel, (id: string, opts: Parameters<Campaigns['campaignCancel']>[1]) =>
      campaignCommands().campaignCancel(id, opts),
    ),
  );
  const campaignReport = campaignById(
    'report',
    'one row per record: state, outcome, booked at, reminders, delivery, review, duplicate of',
    usage.CAMPAIGN_REPORT_HELP,
  )
    .option('--format <format>', 'csv (default) or jsonl')
    .option('-o, --output <file>', 'write it to FILE (default stdout)');
  campaignReport.action(
    action(campaignReport, (id: string, opts: Parameters<Campaigns['campaignReport']>[1]) =>
      campaignCommands().campaignReport(id, opts),
    ),
  );
  // end campaigns: client

  const codec = program
    .command('codec-server')
    .description("serve Temporal's remote codec protocol, so the Web UI and CLI show payloads decrypted")
    .usage('')
    .addHelpText('after', usage.CODEC_SERVER_HELP);
  codec.action(action(codec, () => codecServerCommand().codecServer()));

  const keys = program
    .command('keys')
    .description('encryption keys for HERO_CODEC_KEYS')
    .usage('generate [options]')
    .addHelpText('after', usage.KEYS_HELP);
  const generate = withOptions(
    keys
      .command('generate')
      .description('print a new key for HERO_CODEC_KEYS (put it first to rotate)')
      .usage('[options]')
      .addHelpText('after', usage.KEYS_GENERATE_HELP),
    outputOptions(),
  );
  generate.action(
    action(generate, (opts: { pretty?: boolean; json?: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { keysGenerate } = require('./keys') as typeof import('./keys');
      return keysGenerate(opts);
    }),
  );

  const temporal = program
    .command('temporal')
    .description("run the Temporal CLI against the dev server, decoding payloads with hero-flow's codec server")
    .usage('<args...>')
    .argument('[args...]', "the Temporal CLI's arguments, e.g. workflow list")
    .allowUnknownOption()
    .passThroughOptions()
    .addHelpText('after', usage.TEMPORAL_HELP);
  temporal.action(
    action(temporal, (args: string[]) => {
      if (args.length === 0) throw new UsageError('temporal needs the Temporal CLI arguments, e.g. workflow list');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runTemporalCli } = require('./temporal-cli') as typeof import('./temporal-cli');
      return runTemporalCli(args);
    }),
  );

  // After a usage error: the command's usage line and where to read more.
  const everyCommand = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(everyCommand)];
  for (const cmd of everyCommand(program)) {
    cmd.showHelpAfterError(`Usage: ${fullName(cmd)} ${cmd.usage()}\nSee \`${fullName(cmd)} --help\` for more.`);
  }
  return program;
}

/** Runs the CLI with `argv` (the arguments after the executable) and exits with the command's code. */
export function run(argv: string[]): void {
  let exitCode = EXIT_OK;
  buildProgram((code) => (exitCode = code))
    .parseAsync(argv, { from: 'user' })
    .then(
      () => process.exit(exitCode),
      (err: unknown) => {
        const { message, code } =
          err instanceof CliError ? { message: err.message, code: err.exitCode } : describeError(err);
        process.stderr.write(`hero-flow: ${redact(message)}\n`);
        process.exit(code);
      },
    );
}
