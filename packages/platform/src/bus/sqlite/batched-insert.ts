/**
 * Rows inserted many to a statement. Each `run` of a prepared statement costs a call across N-API, a statement reset
 * and a result object, about a quarter of a plain insert of a log row: the writer thread inserts its rows 50 at a
 * time (`INSERT … VALUES (…), (…), …`) and only the rest one by one.
 */
import type Database from 'better-sqlite3';

/** Rows a statement: a batch of events (100 measured no better). */
const rowsPerStatement = 50;

export class BatchedInsert {
  private readonly many: Database.Statement<unknown[]>;
  private readonly one: Database.Statement<unknown[]>;
  private readonly columns: number;
  /** The buffered rows' values, `columns` a row. */
  private readonly values: unknown[];
  private rows = 0;
  /** Rows inserted since the last `clear` (an `INSERT OR IGNORE` skips some). */
  changes = 0;

  /** `insert` names the table and its columns, up to four: `INSERT INTO t (a, b)`. */
  constructor(db: Database.Database, insert: string, columns: number) {
    if (!(columns >= 1 && columns <= 4))
      throw new RangeError(`A batched insert takes 1 to 4 columns, not ${columns}.`);
    const row = `(${new Array(columns).fill('?').join(', ')})`;
    this.many = db.prepare(`${insert} VALUES ${new Array(rowsPerStatement).fill(row).join(', ')}`);
    this.one = db.prepare(`${insert} VALUES ${row}`);
    this.columns = columns;
    this.values = new Array(columns * rowsPerStatement);
  }

  /** Adds a row (the values of the columns past `columns` are ignored); it is inserted by now or by `flush`. */
  add(a: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const values = this.values;
    const at = this.columns * this.rows;
    values[at] = a;
    if (this.columns > 1) values[at + 1] = b;
    if (this.columns > 2) values[at + 2] = c;
    if (this.columns > 3) values[at + 3] = d;
    if (++this.rows === rowsPerStatement) {
      this.changes += this.many.run(values).changes;
      this.rows = 0;
    }
  }

  /** Inserts the rows still buffered. */
  flush(): void {
    const { values, columns } = this;
    for (let row = 0; row < this.rows; row++) {
      this.changes += this.one.run(values.slice(row * columns, (row + 1) * columns)).changes;
    }
    this.rows = 0;
    // Lets the rows' values (event bodies) be collected.
    values.fill(undefined);
  }

  /** Forgets the buffered rows (those of a transaction that failed) and the count of changes. */
  clear(): void {
    this.rows = 0;
    this.changes = 0;
    this.values.fill(undefined);
  }
}
