/**
 * The NATS server the JetStream tests run against (`DEEPREF_NATS_URL`, default 127.0.0.1:4222), and whether it
 * answers with JetStream on, for `describeWithService`.
 */
import { connect } from '@nats-io/transport-node';
import { type ServiceReach, warnUnreachable } from '../../testing/services.ts';

export const natsUrl = process.env.DEEPREF_NATS_URL || '127.0.0.1:4222';

/** Connects once; warns (once per test file) when the server is missing or runs without JetStream. */
export async function natsReach(): Promise<ServiceReach> {
  let unreachable: string | undefined;
  try {
    const nc = await connect({ servers: natsUrl, timeout: 2_000, maxReconnectAttempts: 0 });
    if (!nc.info?.jetstream) unreachable = 'the server runs without JetStream';
    await nc.close();
  } catch (error) {
    unreachable = (error as Error).message;
  }
  const reach = { service: 'NATS JetStream', url: natsUrl, unreachable };
  warnUnreachable(reach, 'Start it (nats-server -js) or point DEEPREF_NATS_URL at one.');
  return reach;
}
