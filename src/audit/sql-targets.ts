/**
 * Self-hosted SQL targets in the audit: certificate expiry (src/sql/cert-expiry.ts, thresholds of
 * src/certs/thresholds.ts) and encryption at rest per store (src/sql/encryption.ts). This module
 * only turns their reports into findings.
 */
import { certTypeInfo } from '../certs/cert-types.js';
import { LEAF_SCHEDULE_DAYS } from '../certs/thresholds.js';
import { OperatorError, errorMessage } from '../errors.js';
import { checkCertificateExpiry, type CertExpiryItem } from '../sql/cert-expiry.js';
import type { SqlConnector } from '../sql/connector.js';
import { verifyEncryption } from '../sql/encryption.js';
import type { ServerInfo } from '../sql/server-info.js';
import type { RawFinding, SqlTargetResult } from './types.js';

export interface TargetAudit {
  result: SqlTargetResult;
  findings: RawFinding[];
}

const SUFFIX: Partial<Record<CertExpiryItem['status'], string>> = {
  expired: 'expired',
  rotate_now: 'expires_soon',
  schedule_rotation: 'expiring',
  plan_rotation: 'rotation_due',
  missing: 'missing',
};

/** Finding code for a certificate verdict: node_certificate_expires_soon, ca_certificate_expiring, ... */
export function certificateCode(type: string, status: CertExpiryItem['status']): string | undefined {
  const suffix = SUFFIX[status];
  if (!suffix) return undefined;
  const prefix = type === 'node' ? 'node_' : certTypeInfo(type).role === 'ca' ? 'ca_' : '';
  return `${prefix}certificate_${suffix}`;
}

function certificateFinding(target: string, item: CertExpiryItem): RawFinding | undefined {
  const code = certificateCode(item.type, item.status);
  if (!code || item.severity === 'info') return undefined;
  const rotation = certTypeInfo(item.type).rotation;
  const when = item.expires_at ? `expires ${item.expires_at} (${item.days_left} days left)` : 'not reported by the node';
  return {
    code,
    severity: item.severity,
    target,
    node: item.node_id,
    title: `${item.certificate}: ${item.status.replace(/_/g, ' ')}`,
    evidence: `Node ${item.node_id}${item.address ? ` (${item.address})` : ''}: ${item.certificate} ${when}.`,
    fix: { tool: 'plan_certificate_rotation', arguments: { kind: rotation }, description: item.next_action },
  };
}

/** Failures that mean the target cannot be audited at all (as opposed to one check being unreadable). */
const TARGET_DOWN = new Set(['unreachable', 'auth', 'tls', 'no_database', 'connection_lost', 'timeout']);

function note(target: string, code: string, title: string, evidence: string, fix: RawFinding['fix']): RawFinding {
  return { code, severity: 'info', target, title, evidence, fix };
}

/** Audits one named target; a connection failure marks the target failed (with the reason). */
export async function auditSqlTarget(connector: SqlConnector, name: string, now: number, signal: AbortSignal): Promise<TargetAudit> {
  const result: SqlTargetResult = { name, status: 'audited', certificates: [], stores: [], notes: [] };
  const findings: RawFinding[] = [];
  const conn = await connector.resolve({ connection: name });
  let server: ServerInfo | undefined;
  try {
    const certs = await checkCertificateExpiry(connector, { conn, warnDays: LEAF_SCHEDULE_DAYS, now, signal });
    server = certs.server ?? undefined;
    result.notes.push(...certs.notes);
    result.certificates = certs.certificates.map((item) => ({
      node: item.node_id,
      type: item.type,
      expires_at: item.expires_at,
      days_left: item.days_left,
      status: item.status,
    }));
    for (const item of certs.certificates) {
      const found = certificateFinding(name, item);
      if (found) findings.push(found);
    }
    if (certs.source === 'none') {
      findings.push(
        note(name, 'certificate_check_unverified', 'Certificate expiry could not be read', certs.notes.join(' ') || 'No certificate data.', {
          tool: 'check_certificate_expiry',
          arguments: { connection: name },
          description: 'Read expiry over HTTP (http_url) instead.',
        }),
      );
    }
  } catch (error) {
    if (signal.aborted || (error instanceof OperatorError && TARGET_DOWN.has(String(error.details.kind)))) throw error;
    findings.push(
      note(name, 'certificate_check_unverified', 'Certificate expiry could not be read', errorMessage(error), {
        tool: 'check_certificate_expiry',
        arguments: { connection: name },
        description: "Follow the error's next step (e.g. pass http_url), then re-run the audit.",
      }),
    );
  }
  const encryption = await verifyEncryption(connector, { conn, ...(server ? { server } : {}), signal });
  result.server = (server ?? encryption.server)?.version;
  result.notes.push(...encryption.notes);
  result.stores = encryption.stores.map((store) => ({ node: store.node_id, store_id: store.store_id, algorithm: store.algorithm, encrypted: store.encrypted }));
  for (const store of encryption.stores) {
    if (store.encrypted === false) {
      findings.push({
        code: 'store_not_encrypted',
        severity: 'high',
        target: name,
        ...(store.node_id ? { node: store.node_id } : {}),
        title: 'Store without encryption at rest',
        evidence: `Node ${store.node_id ?? '?'} store ${store.store_id}: rocksdb.encryption.algorithm = ${store.algorithm_code} (${store.algorithm}).`,
        fix: {
          tool: 'verify_encryption_sql',
          arguments: { connection: name },
          description:
            'Restart the node with --enterprise-encryption=path=<store>,key=<aes key>,old-key=plain (one node at a time), then verify with verify_encryption_sql.',
        },
      });
    }
  }
  const unknown = encryption.stores.filter((store) => store.encrypted === null);
  if (encryption.source === 'none' || unknown.length > 0) {
    const why =
      encryption.source === 'none'
        ? encryption.notes.join(' ') || 'Store metrics were not readable.'
        : `${unknown.length} store(s) did not report rocksdb.encryption.algorithm.`;
    findings.push(
      note(name, 'store_encryption_unverified', 'Encryption at rest could not be verified', why, {
        tool: 'verify_encryption_sql',
        arguments: { connection: name },
        description: 'Read store status over HTTP (http_url) instead.',
      }),
    );
  }
  return { result, findings };
}
