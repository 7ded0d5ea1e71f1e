/** The `deepref` command line: one entry point for running the platform and operating it. */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ControlClientError } from './control-client.ts';

const program = new Command();

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number.');
  return n;
}

/** A TCP port; 0 lets the system pick a free one (the URL is then in `<data-dir>/run/server.json`). */
function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port).');
  }
  return n;
}

const configOption = () =>
  new Option(
    '--config <file>',
    'a config file (default: deepref.config.json or .ts here) [env DEEPREF_CONFIG]',
  );

const dataDirOption = () =>
  new Option('--data-dir <dir>', 'where the platform keeps its data')
    .env('DEEPREF_DATA_DIR')
    .default('./data')
    .argParser((dir: string) => path.resolve(dir));

program
  .name('deepref')
  .description('DeepRef: a self-hosted, privacy-first telemetry and data platform.')
  .showHelpAfterError('(add --help for usage)');

program
  .command('start')
  .description('run the platform: collector, event log, warehouse loader, lake writer, stream jobs, API')
  .addOption(configOption())
  .addOption(
    new Option('--port <port>', 'HTTP port (0: any free one) [env DEEPREF_PORT, default 8080]').argParser(
      portNumber,
    ),
  )
  .addOption(new Option('--host <host>', 'address to listen on [env DEEPREF_HOST, default 127.0.0.1]'))
  .addOption(
    new Option(
      '--data-dir <dir>',
      'where the platform keeps its data [env DEEPREF_DATA_DIR, default ./data]',
    ).argParser((dir: string) => path.resolve(dir)),
  )
  .addOption(
    new Option(
      '--ip-policy <policy>',
      'what is kept of client IP addresses [env DEEPREF_IP_POLICY, default truncate]',
    ).choices(['truncate', 'hash', 'drop']),
  )
  .addOption(
    new Option('--strict', 'refuse event names outside the registered taxonomy [env DEEPREF_STRICT]'),
  )
  .addOption(
    new Option(
      '--role <role>',
      'the part of the platform this process runs [env DEEPREF_ROLE, default all]',
    ).choices(['all', 'ingest', 'worker', 'api', 'scheduler']),
  )
  .addOption(new Option('--log-level <level>', 'pino log level [env DEEPREF_LOG_LEVEL, default info]'))
  .addHelpText(
    'after',
    '\nEvery setting can also come from deepref.config.json (or .ts) in the working directory and from DEEPREF_*\n' +
      'variables (flags win over the environment, which wins over the file). `deepref config print` shows the result.',
  )
  .action(async (options) => {
    const { runStart } = await import('./start-command.ts');
    await runStart(options);
  });

program
  .command('config')
  .description('the effective configuration')
  .command('print')
  .description('print every setting with where it came from (default, file, env, flag); secrets hidden')
  .addOption(configOption())
  .option('--json', 'as JSON')
  .action(async (options) => {
    const { printConfig } = await import('./config-command.ts');
    await printConfig(options);
  });

const keys = program
  .command('keys')
  .description('write keys: one per source of events (works while the platform runs)');
keys
  .command('create')
  .description('create a source and print its write key (shown this once)')
  .requiredOption('--name <name>', 'a name for the source, such as web or api')
  .option('--origin <origin...>', 'browser origins allowed to send with this key (use * for any)')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { createKey } = await import('./keys-command.ts');
    await createKey(options);
  });
keys
  .command('list')
  .description('list sources and their key prefixes')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { listKeys } = await import('./keys-command.ts');
    await listKeys(options);
  });
keys
  .command('revoke')
  .description('revoke the key of a source, given its id, name or key prefix')
  .argument('<source>', 'source id, name or key prefix')
  .addOption(dataDirOption())
  .action(async (source: string, options) => {
    const { revokeKey } = await import('./keys-command.ts');
    await revokeKey(source, options);
  });

const admin = program.command('admin').description('accounts of the dashboard and the API');
admin
  .command('reset-password')
  .description('give an account a new generated password, printed once (signs its sessions out)')
  .option('--user <name>', 'the account', 'admin')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { resetPassword } = await import('./admin-command.ts');
    await resetPassword(options);
  });

const apikeys = program
  .command('apikeys')
  .description('read API keys for programs (Authorization: Bearer drk_read_…); need the platform running');
apikeys
  .command('create')
  .description('make a read API key and print it (shown this once)')
  .requiredOption('--name <name>', 'what the key is for, such as grafana')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { createApiKey } = await import('./admin-command.ts');
    await createApiKey(options);
  });
apikeys
  .command('list')
  .description('list read API keys and their prefixes')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { listApiKeys } = await import('./admin-command.ts');
    await listApiKeys(options);
  });
apikeys
  .command('revoke')
  .description('revoke a read API key, given its id')
  .argument('<id>', 'the key id (see apikeys list)')
  .addOption(dataDirOption())
  .action(async (id: string, options) => {
    const { revokeApiKey } = await import('./admin-command.ts');
    await revokeApiKey(id, options);
  });

program
  .command('query')
  .description('run a read-only SQL statement on the warehouse of the running platform')
  .argument('<sql>', 'a SELECT, WITH, DESCRIBE, SHOW, EXPLAIN or SUMMARIZE statement')
  .addOption(
    new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'),
  )
  .addOption(dataDirOption())
  .action(async (sql: string, options) => {
    const { runQuery } = await import('./query-command.ts');
    await runQuery(sql, options);
  });

const deadletters = program
  .command('deadletters')
  .description('events the collector refused, with the reason');
deadletters
  .command('list')
  .description('list dead letters (newest last)')
  .option('--reason <reason>', 'only this reason')
  .option('--pending', 'only those not replayed yet')
  .option('--limit <n>', 'at most this many', positiveInt, 50)
  .option('--json', 'print JSON')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { listDeadLetters } = await import('./deadletters-command.ts');
    await listDeadLetters(options);
  });
deadletters
  .command('replay')
  .description(
    'send dead letters through the collector again (after a fix to the schema or the strict setting)',
  )
  .option('--id <id...>', 'these dead letters')
  .option('--reason <reason>', 'every pending one with this reason')
  .option('--limit <n>', 'at most this many', positiveInt, 1000)
  .addOption(dataDirOption())
  .action(async (options) => {
    const { replayDeadLetters } = await import('./deadletters-command.ts');
    await replayDeadLetters(options);
  });

const consent = program
  .command('consent')
  .description("a subject's consent: state, history, and changes recorded by the operator");
const purposeOption = () =>
  new Option('--purpose <purpose...>', 'the purposes to change')
    .choices(['data_collection', 'analytics', 'osint_enrichment', 'marketing'])
    .makeOptionMandatory();
consent
  .command('show')
  .description('show the state per purpose and the history of a user or anonymous id')
  .requiredOption('--subject <id>', 'user id or anonymous id')
  .option('--json', 'print JSON')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { showConsent } = await import('./consent-command.ts');
    await showConsent(options);
  });
for (const [name, granted] of [
  ['grant', true],
  ['withdraw', false],
] as const) {
  consent
    .command(name)
    .description(`${name} purposes for a subject (recorded with method admin)`)
    .requiredOption('--subject <id>', 'user id or anonymous id')
    .addOption(purposeOption())
    .option('--policy-version <version>', 'the policy version (default: the current one)')
    .option('--json', 'print JSON')
    .addOption(dataDirOption())
    .action(async (options) => {
      const { changeConsent } = await import('./consent-command.ts');
      await changeConsent(granted, options);
    });
}

const jobs = program.command('jobs').description('scheduled jobs (works while the platform runs)');
jobs
  .command('list')
  .description('list the jobs, their schedules (UTC) and last runs')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { listJobs } = await import('./jobs-command.ts');
    await listJobs(options);
  });
jobs
  .command('run')
  .description('run a job now and print its report')
  .argument('<name>', 'the job, as `deepref jobs list` names it')
  .addOption(dataDirOption())
  .action(async (name: string, options) => {
    const { runJob } = await import('./jobs-command.ts');
    await runJob(name, options);
  });

program
  .command('retention')
  .description('remove data past its retention period from every store now (works while the platform runs)')
  .option('--dry-run', 'only report what would be removed')
  .option('--json', 'print JSON')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { runRetention } = await import('./retention-command.ts');
    await runRetention(options);
  });

program
  .command('demo')
  .description('send realistic synthetic traffic through the HTTP collector of a running platform')
  .option('--users <n>', 'number of users', positiveInt, 200)
  .option('--days <n>', 'days of history, ending now', positiveInt, 7)
  .option('--url <url>', 'collector URL (default: the platform running on --data-dir)')
  .option('--write-key <key>', 'write key to send with (default: a `demo` source is created)')
  .option('--seed <n>', 'random seed, for repeatable traffic', positiveInt, 42)
  .option('--concurrency <n>', 'requests in flight', positiveInt, 8)
  .addOption(dataDirOption())
  .action(async (options) => {
    const { runDemo } = await import('./demo-command.ts');
    await runDemo(options);
  });

const dsr = program
  .command('dsr')
  .description(
    'data subject requests: export or erase everything held about a user (works while the platform runs)',
  );
const verifiedByOption = () =>
  new Option(
    '--verified-by <how>',
    "how the subject's identity was checked (kept in the audit trail)",
  ).default('operator attested (deepref CLI)');
dsr
  .command('export')
  .description('package everything held about a user and print a signed download link (7 days)')
  .requiredOption('--user-id <id>', 'the user')
  .addOption(
    new Option('--format <format>', 'file format').choices(['json', 'csv', 'xml', 'parquet']).default('json'),
  )
  .addOption(verifiedByOption())
  .addOption(dataDirOption())
  .action(async (options) => {
    const { exportSubject } = await import('./dsr-command.ts');
    await exportSubject(options);
  });
dsr
  .command('erase')
  .description('erase a user from every store, destroy their key, and print the proof report')
  .requiredOption('--user-id <id>', 'the user')
  .option('--yes', 'do not ask for confirmation')
  .addOption(
    new Option('--export-first <format>', 'make an export first (kept until its link expires)').choices([
      'json',
      'csv',
      'xml',
      'parquet',
    ]),
  )
  .addOption(verifiedByOption())
  .addOption(dataDirOption())
  .action(async (options) => {
    const { eraseSubject } = await import('./dsr-command.ts');
    await eraseSubject(options);
  });
dsr
  .command('status')
  .description('one request with its audit trail, or every request')
  .argument('[id]', 'request id')
  .option('--json', 'print JSON')
  .addOption(dataDirOption())
  .action(async (id: string | undefined, options) => {
    const { showStatus } = await import('./dsr-command.ts');
    await showStatus(id, options);
  });

program
  .command('backup')
  .description("copy the data folder with each engine's online backup, without secrets, keys or exports")
  .requiredOption('--to <dir>', 'a new or empty folder outside the data folder')
  .addOption(dataDirOption())
  .action(async (options) => {
    const { runBackup } = await import('./backup-command.ts');
    await runBackup(options);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ControlClientError) {
    console.error(`deepref: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
