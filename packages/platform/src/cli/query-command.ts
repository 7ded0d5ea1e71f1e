/** `deepref query`: read-only SQL on the warehouse of the running platform, through its control socket. */
import type { QueryResult } from '../storage/warehouse.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

function csvCell(value: unknown): string {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function formatResult(result: QueryResult, format: 'table' | 'json' | 'csv'): string {
  if (format === 'json') {
    return JSON.stringify(
      result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]]))),
      null,
      2,
    );
  }
  if (format === 'csv') {
    return [result.columns, ...result.rows].map((row) => row.map(csvCell).join(',')).join('\n');
  }
  const cells = [
    result.columns,
    ...result.rows.map((row) => row.map((v) => csvCell(v).replace(/^"|"$/g, ''))),
  ];
  const widths = result.columns.map((_, i) =>
    Math.min(60, Math.max(...cells.map((row) => String(row[i]).length))),
  );
  const line = (row: unknown[]) =>
    row
      .map((v, i) =>
        String(v)
          .slice(0, 60)
          .padEnd(widths[i] ?? 0),
      )
      .join(' │ ');
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  const [header, ...body] = cells;
  return [
    line(header ?? []),
    rule,
    ...body.map(line),
    `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`,
  ].join('\n');
}

export async function runQuery(
  sql: string,
  options: { format: 'table' | 'json' | 'csv'; dataDir: string },
): Promise<void> {
  const response = await controlRequest<QueryResult & { error?: { code: string; message: string } }>(
    options.dataDir,
    'POST',
    '/api/v1/query',
    { sql },
  );
  if (response.status !== 200)
    throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
  console.log(formatResult(response.body, options.format));
}
