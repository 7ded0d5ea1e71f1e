/**
 * Sources and their write keys. A write key identifies where events come from (a web app, a server); it may
 * only send, never read. Keys are kept as SHA-256 hashes, so the clear key exists only in the answer to
 * `deepref keys create`.
 */
export interface Source {
  id: string;
  name: string;
  /** Origins a browser may send from (`*` for any). Empty: server-side only, browsers refused. */
  allowedOrigins: string[];
  createdAt: string;
  revokedAt?: string;
}

export interface SourceRegistry {
  /** The source a write key belongs to, or undefined when the key is unknown or revoked. */
  authenticate(writeKey: string): Promise<Source | undefined>;
}
