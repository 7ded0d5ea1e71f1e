/**
 * Alerts from stream jobs: each alerting row is stored once in the warehouse table `stream_alerts` (by job, key
 * and window end), and only a newly stored alert is logged and posted to the webhook, if one is set. The webhook
 * is retried with exponential backoff in the background, so a slow receiver never holds the stream up; a delivery
 * that fails every attempt is logged and counted.
 */
import type { Metrics } from '../../ops/metrics.ts';
import type { Warehouse } from '../../storage/warehouse.ts';
import type { WindowResult } from '../stream-job.ts';
import type { StreamSink } from '../stream-processor.ts';
import { storedGroupKey } from './warehouse-result-sink.ts';

export const streamAlertsTableSql = `CREATE TABLE IF NOT EXISTS stream_alerts (
  job VARCHAR NOT NULL,
  group_key VARCHAR NOT NULL,
  window_end_ms BIGINT NOT NULL,
  window_start TIMESTAMP NOT NULL,
  window_end TIMESTAMP NOT NULL,
  group_values VARCHAR NOT NULL,
  result VARCHAR NOT NULL,
  raised_at TIMESTAMP NOT NULL,
  PRIMARY KEY (job, group_key, window_end_ms)
)`;

export interface AlertLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface AlertSinkOptions {
  warehouse: Pick<Warehouse, 'query'>;
  logger: AlertLogger;
  metrics?: Metrics;
  webhookUrl?: string;
  /** Attempts per webhook delivery (default 5), waiting `retryMs` (default 500) doubled after each failure. */
  webhookAttempts?: number;
  retryMs?: number;
}

export interface Alert {
  job: string;
  key: string;
  group: Record<string, string>;
  windowStart: string;
  windowEnd: string;
  values: Record<string, unknown>;
}

export class AlertSink implements StreamSink {
  #ready: Promise<unknown> | undefined;
  readonly #deliveries = new Set<Promise<void>>();

  constructor(private readonly options: AlertSinkOptions) {}

  ensureTable(): Promise<unknown> {
    this.#ready ??= this.options.warehouse.query(streamAlertsTableSql);
    return this.#ready;
  }

  async write(rows: readonly WindowResult[]): Promise<void> {
    await this.ensureTable();
    for (const row of rows) {
      const inserted = await this.options.warehouse.query(
        `INSERT INTO stream_alerts (job, group_key, window_end_ms, window_start, window_end, group_values, result, raised_at)
         VALUES ($1, $2, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), $6, $7, CAST($8 AS TIMESTAMP))
         ON CONFLICT (job, group_key, window_end_ms) DO NOTHING
         RETURNING job`,
        [
          row.job,
          storedGroupKey(row.key),
          row.windowEnd,
          // Dates, which each warehouse spells as it reads them (WarehouseResultSink).
          new Date(row.windowStart),
          new Date(row.windowEnd),
          JSON.stringify(row.group),
          JSON.stringify(row.values),
          new Date(),
        ],
      );
      if (inserted.rows.length === 0) continue; // raised before a restart
      const alert: Alert = {
        job: row.job,
        key: row.key,
        group: row.group,
        windowStart: new Date(row.windowStart).toISOString(),
        windowEnd: new Date(row.windowEnd).toISOString(),
        values: row.values,
      };
      this.options.metrics?.streamAlerts.inc({ job: row.job });
      this.options.logger.warn({ alert }, `stream alert from ${row.job} for ${row.key}`);
      if (this.options.webhookUrl) this.#deliver(alert);
    }
  }

  #deliver(alert: Alert): void {
    const delivery = this.#post(alert).finally(() => this.#deliveries.delete(delivery));
    this.#deliveries.add(delivery);
  }

  async #post(alert: Alert): Promise<void> {
    const attempts = this.options.webhookAttempts ?? 5;
    let wait = this.options.retryMs ?? 500;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(this.options.webhookUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ alert }),
          signal: AbortSignal.timeout(10_000),
        });
        if (response.ok) return;
        lastError = new Error(`webhook answered ${response.status}`);
      } catch (error) {
        lastError = error;
      }
      if (attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait *= 2;
      }
    }
    this.options.metrics?.streamWebhookFailures.inc();
    this.options.logger.error({ err: lastError, alert }, 'alert webhook failed after every retry');
  }

  /** Waits for the webhook deliveries in flight. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#deliveries]);
  }
}
