/**
 * A table of the dashboard: a header row, then the rows the page draws. Figures are right-aligned (`num`) in the
 * header and in their cells; `data-testid` on the table and on figure cells lets tests and tools read what is shown.
 */
import type { ReactNode } from 'react';

/** A header cell: its label, or a cell with a class (and an accessible name where it shows no label). */
export type Column = string | { label?: ReactNode; className?: string; ariaLabel?: string };

/** Right-aligned header cells, one for each label, for columns of figures. */
export function numeric(...labels: ReactNode[]): Column[] {
  return labels.map((label) => ({ label, className: 'num' }));
}

export function Table({
  columns,
  children,
  testId,
  className,
  scroll = false,
}: {
  columns: readonly Column[];
  /** The rows; none leaves the body empty. */
  children?: ReactNode;
  testId?: string;
  /** Classes besides `table`, for a table drawn its own way (a heatmap, bars). */
  className?: string;
  /** Wide tables scroll sideways in their panel instead of widening the page. */
  scroll?: boolean;
}) {
  const table = (
    <table className={className ? `table ${className}` : 'table'} data-testid={testId}>
      <thead>
        <tr>
          {columns.map((column, i) =>
            typeof column === 'string' ? (
              // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional and never reorder
              <th key={i}>{column}</th>
            ) : (
              // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional and never reorder
              <th key={i} className={column.className} aria-label={column.ariaLabel}>
                {column.label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
  return scroll ? <div className="table-scroll">{table}</div> : table;
}

/** A cell holding a figure, right-aligned like its column's header. */
export function NumCell({ testId, children }: { testId?: string; children?: ReactNode }) {
  return (
    <td className="num" data-testid={testId}>
      {children}
    </td>
  );
}
