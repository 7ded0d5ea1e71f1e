/** `deepref start`: runs the whole platform in this process until SIGTERM or SIGINT, then stops gracefully. */
import { loadConfig } from '../config-file.ts';
import { startPlatform } from '../platform.ts';

/** The flags of `deepref start`; each is set only when given, so the config file and environment apply below it. */
export interface StartOptions {
  config?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  ipPolicy?: string;
  strict?: boolean;
  logLevel?: string;
  role?: string;
}

export async function runStart(options: StartOptions): Promise<void> {
  const { config } = await loadConfig({
    ...(options.config ? { file: options.config } : {}),
    flags: {
      port: options.port,
      host: options.host,
      dataDir: options.dataDir,
      logLevel: options.logLevel,
      role: options.role,
      'ingest.ipPolicy': options.ipPolicy,
      'ingest.strict': options.strict,
    },
  });
  const platform = await startPlatform(config);
  const keys = await platform.sources.list();
  const active = keys.filter((k) => !k.revokedAt);
  console.log(
    [
      '',
      `DeepRef is running at ${platform.url}`,
      `  dashboard  ${platform.url}/   (sign in as admin; the password is printed on the first start only)`,
      `  API docs   ${platform.url}/docs`,
      `  example    ${platform.url}/example   (a page that sends events with the browser SDK; watch them arrive)`,
      `  collector  POST ${platform.url}/api/telemetry/events   (Segment clients: ${platform.url}/v1/batch)`,
      `  health     ${platform.url}/health   metrics ${platform.url}/metrics`,
      `  data       ${config.dataDir}`,
      active.length
        ? `  sources    ${active.map((k) => k.name).join(', ')} (see: npx deepref keys list)`
        : '  no write key yet: npx deepref keys create --name web --origin http://localhost:3000',
      '  try it:    npx deepref demo --users 50 --days 7   then   npx deepref query "SELECT count(*) FROM events"',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(
        `Received ${signal} again: exiting now. The event log is safe; consumers resume on next start.`,
      );
      process.exit(130);
    }
    stopping = true;
    platform.app.log.info({ signal }, 'stopping: refusing new requests, draining the log into the stores');
    platform.close().then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
