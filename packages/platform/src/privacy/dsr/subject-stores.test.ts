/**
 * The warehouse's part of an erasure, on each warehouse: an alert is kept with the subject's ids replaced by the
 * pseudonym, as a new row with the old row's times, a window of year 0000 included (PostgreSQL refused it when the
 * times were sent as text).
 */
import { expect, it } from 'vitest';
import { AlertSink } from '../../stream/sinks/alert-sink.ts';
import { describeEachWarehouse, useWarehouse } from '../../testing/warehouses.ts';
import { warehouseStore } from './subject-stores.ts';

describeEachWarehouse('the warehouse store of privacy requests', (engine) => {
  const db = useWarehouse(engine);

  it('keeps an alert of a window in year 0000 under the pseudonym', async () => {
    const { warehouse } = db;
    const sink = new AlertSink({ warehouse, logger: { warn: () => {}, error: () => {} } });
    const end = Date.parse('0000-01-01T00:01:00.000Z');
    await sink.write([
      {
        job: 'event_volume_alerts',
        key: 'u-year-0',
        group: { user_id: 'u-year-0' },
        windowStart: end - 60_000,
        windowEnd: end,
        values: { events: 3 },
      },
    ]);
    await sink.close();

    const removed = await warehouseStore(warehouse, undefined).erase({
      userId: 'u-year-0',
      ids: ['u-year-0'],
      pseudonym: 'erased:year-0',
    });
    expect(removed.warehouse_stream_alerts).toBe(1);
    const result = await warehouse.query(
      'SELECT group_key, group_values, window_start, window_end FROM stream_alerts ORDER BY group_key',
    );
    expect(result.rows).toEqual([
      [
        'erased:year-0',
        '{"user_id":"erased:year-0"}',
        '0000-01-01T00:00:00.000Z',
        '0000-01-01T00:01:00.000Z',
      ],
    ]);
  });
});
