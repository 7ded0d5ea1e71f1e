/** `deepref start`: runs the whole platform in this process until SIGTERM or SIGINT, then stops gracefully. */
import { defaultConfig, type IpPolicy } from '../config.ts';
import { startPlatform } from '../platform.ts';

export interface StartOptions {
  port: number;
  host: string;
  dataDir: string;
  ipPolicy: IpPolicy;
  strict?: boolean | string;
  logLevel: string;
}

export async function runStart(options: StartOptions): Promise<void> {
  const config = defaultConfig({
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
    logLevel: options.logLevel,
    ingest: {
      ...defaultConfig().ingest,
      ipPolicy: options.ipPolicy,
      strict: options.strict === true || options.strict === '1' || options.strict === 'true',
    },
  });
  const platform = await startPlatform(config);
  const keys = await platform.sources.list();
  const active = keys.filter((k) => !k.revokedAt);
  console.log(
    [
      '',
      `DeepRef is running at ${platform.url}`,
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
