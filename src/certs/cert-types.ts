/**
 * The certificate types CockroachDB reports (metric suffixes of
 * security.certificate.expiration.*), what each is, and what to do when one is due. The metric
 * suffixes (`client-ca`, `ui-ca`) are not file names: cockroach reads the client CA from
 * `ca-client.crt` and the DB Console CA from `ca-ui.crt`.
 */
import type { CertRole, ExpiryVerdict } from './thresholds.js';

/** plan_certificate_rotation kinds. */
export const ROTATION_KINDS = ['node', 'client', 'ca', 'ui'] as const;
export type RotationKind = (typeof ROTATION_KINDS)[number];
/**
 * Kubernetes deployment styles a rotation plan can target: the public operator (CrdbCluster
 * nodeTLSSecret/clientTLSSecret), the newer CockroachDB operator (installed with Helm; values
 * `cockroachdb.tls.*`), the cockroachdb Helm chart's StatefulSet (values `tls.certs.*`), or
 * cert-manager issuing the certificates for either chart.
 */
export const K8S_MODES = ['none', 'public-operator', 'cockroachdb-operator', 'helm', 'cert-manager'] as const;
export type K8sMode = (typeof K8S_MODES)[number];

/** A SQL user name as cockroach's client certificate files name it (client.<user>.crt); shown as is. */
export const SQL_USER_NAME = /^[a-z0-9_][a-z0-9_.-]{0,62}$/i;

export interface CertTypeInfo {
  role: CertRole;
  rotation: RotationKind;
  label: string;
  /** Optional types report 0 when the cluster simply does not use them. */
  optional: boolean;
}

const TYPES: Record<string, CertTypeInfo> = {
  ca: { role: 'ca', rotation: 'ca', label: 'cluster CA (ca.crt)', optional: false },
  'client-ca': { role: 'ca', rotation: 'ca', label: 'client CA (ca-client.crt)', optional: true },
  'ui-ca': { role: 'ca', rotation: 'ui', label: 'DB Console CA (ca-ui.crt)', optional: true },
  node: { role: 'leaf', rotation: 'node', label: 'node certificate (node.crt)', optional: false },
  'node-client': { role: 'leaf', rotation: 'client', label: 'node client certificate (client.node.crt)', optional: true },
  ui: { role: 'leaf', rotation: 'ui', label: 'DB Console certificate (ui.crt)', optional: true },
  'ca-client-tenant': { role: 'ca', rotation: 'ca', label: 'tenant client CA (ca-client-tenant.crt)', optional: true },
  'client-tenant': { role: 'leaf', rotation: 'client', label: 'tenant client certificate (client-tenant.*.crt)', optional: true },
  client: { role: 'leaf', rotation: 'client', label: 'client certificate (client.<user>.crt)', optional: true },
};

/** What a certificate type is; unknown types are classified by name. */
export function certTypeInfo(type: string): CertTypeInfo {
  return (
    TYPES[type] ?? {
      role: /(^|-)ca(-|$)/.test(type) ? 'ca' : 'leaf',
      rotation: /ui/.test(type) ? 'ui' : /client/.test(type) ? 'client' : /ca/.test(type) ? 'ca' : 'node',
      label: `${type} certificate`,
      optional: true,
    }
  );
}

/** The next step for one certificate, by its verdict. */
export function nextAction(type: string, verdict: ExpiryVerdict): string {
  const info = certTypeInfo(type);
  const plan = `plan_certificate_rotation kind=${info.rotation}`;
  switch (verdict.status) {
    case 'expired':
      return `Expired: connections using it fail TLS. Rotate immediately (${plan}).`;
    case 'rotate_now':
      return info.role === 'ca'
        ? `Start the combined-CA rotation now (${plan}); every node and client certificate must be re-issued before it expires.`
        : `Rotate now (${plan}), then reload with SIGHUP.`;
    case 'schedule_rotation':
      return info.role === 'ca' ? `Rotate soon with the combined-CA procedure (${plan}).` : `Schedule a rotation within the next weeks (${plan}).`;
    case 'plan_rotation':
      return `Plan the CA rotation (${plan}): distribute the combined CA well before re-issuing leaf certificates.`;
    case 'missing':
      return info.optional
        ? `Not present: fine unless this cluster is meant to use a separate ${info.label}.`
        : 'No certificate reported: the node may run in insecure mode, or the metric is unavailable; check with inspect_certificates.';
    case 'ok':
      return 'Nothing to do.';
  }
}
