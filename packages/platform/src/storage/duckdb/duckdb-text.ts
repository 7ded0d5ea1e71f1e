/**
 * Text read back from DuckDB as it is stored. @duckdb/node-api decodes every VARCHAR with one shared, default
 * `TextDecoder`, which drops a leading U+FEFF as if it were a byte order mark: an event name, an id or a property
 * value starting with one came back from the warehouse, the lake and the exports without it, while DuckDB held it.
 * The library reads its decoder from an exported binding on every call, so replacing that binding with one that
 * keeps the character (`ignoreBOM`) mends every read in the process (the warehouse's, the lake's, the exports').
 * Imported for this effect by duckdb-results.ts, which every platform process loads (adapters.ts); the warehouse
 * contract test (`gives back text that starts with U+FEFF whole`) fails should a new version decode elsewhere.
 */
import { createRequire } from 'node:module';

const dataAccessors = createRequire(import.meta.url)('@duckdb/node-api/lib/vectors/dataAccessors.js') as {
  textDecoder: TextDecoder;
};

if (!dataAccessors.textDecoder.ignoreBOM) {
  dataAccessors.textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
}
