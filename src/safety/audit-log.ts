// PLACEHOLDER: replaced by the hash-chained audit log implementation.
import type { Config } from '../config.js';
import type { AuditLog, Redactor } from './types.js';

/** Opens the configured audit log (JSONL file, or a SQL table with --audit-db). */
export async function openAuditLog(_config: Config, _redactor: Redactor): Promise<AuditLog> {
  return { append: async () => {}, verify: async () => ({ ok: true, entries: 0 }), close: async () => {} };
}
