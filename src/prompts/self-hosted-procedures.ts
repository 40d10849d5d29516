/** Certificate-management procedures for self-hosted clusters, per reason. */
import type { Procedure } from './cmek-procedures.js';
import { CERTS_SKILL, steps } from './plan.js';
import type { Reason } from './vocabulary.js';

const RELOAD =
  'Nodes reload certificates only on `SIGHUP` (`pkill -SIGHUP -x cockroach`, as the user running it) or a restart; on Kubernetes, name the deployment (public operator `CrdbCluster`, the CockroachDB operator installed with Helm, or the cockroachdb Helm chart): with either operator the pods are restarted one at a time to pick up new certificates.';
const ONE_AT_A_TIME = 'One node at a time: replace, reload, verify, then the next. Keep the previous files until verified.';
const CA_KEY =
  'No CA key (`ca.key`, `ca-client.key`, `ca-ui.key`) lives on a node. Key files: at most `0700` when owned by the cockroach user, or `0640`/`0740` when owned by root with the cockroach group; never world-readable. Certificates `0644`.';
const THRESHOLDS = 'Thresholds: CA < 1 year -> plan a CA rotation; node < 90 days -> schedule; node < 30 days -> rotate now.';

const PROCEDURES: Record<Reason, Procedure> = {
  'Routine monitoring': {
    text: steps([
      `\`check_certificate_expiry {"connection": "my-target"}\`: every certificate kind per node, soonest first. ${THRESHOLDS}`,
      'Client certificates are tracked per SQL user: `check_certificate_expiry {"connection": "my-target", "http_url": "https://node1.example.com:8080"}` adds them from that node\'s `/_status/vars` (SQL alone cannot read them per user). Repeat per node.',
      '`inspect_certificates {"certs_dir": "/var/lib/cockroach/certs", "hostnames": ["node1.example.com", "lb.example.com"], "ips": ["10.0.0.11"]}` on any node with a finding: chain, SAN coverage, file modes, CA key absent.',
      '`verify_encryption_sql {"connection": "my-target"}`: encryption-at-rest status per store (`rocksdb.encryption.algorithm`: 0 plaintext, 1-3 AES-128/192/256 CTR, 4-6 their V2 variants).',
      'For anything below a threshold: `plan_certificate_rotation {"kind": "node"}` and schedule it.',
    ]),
    checkpoints: ['Read-only: nothing here changes the cluster.', 'Metrics are UNIX seconds; 0 means the certificate is not present, not expired.'],
    embed: [{ skill: CERTS_SKILL, file: 'expiry-monitoring.md' }],
    next: 'ask for the SQL connection (or target name) and run `check_certificate_expiry`.',
  },
  'Scheduled rotation': {
    text: steps([
      '`check_certificate_expiry {"connection": "my-target"}`: what expires when.',
      '`inspect_certificates {"certs_dir": "/var/lib/cockroach/certs", "hostnames": ["node1.example.com", "lb.example.com"], "ips": ["10.0.0.11"]}`: record the current SANs so the new certificates cover at least as much.',
      '`plan_certificate_rotation {"kind": "node"} (kind: node, client, ui or ca)`: exact `cockroach cert` commands, backups, reload and verification. It executes nothing; review it with the operator.',
      `The operator executes the plan. ${RELOAD}`,
      '`check_certificate_expiry {"connection": "my-target"}` again, and `inspect_certificates` on each node: the new expiry everywhere.',
      'Optional: `verify_encryption_sql {"connection": "my-target", "probe": true}`.',
    ]),
    checkpoints: [
      ONE_AT_A_TIME,
      RELOAD,
      'CA rotation: combined CA file (new + old) until every node and client certificate is re-issued by the new CA.',
      CA_KEY,
    ],
    embed: [{ skill: CERTS_SKILL, file: 'certificate-rotation.md' }],
    next: 'run `check_certificate_expiry`, then ask which kind (node, client, UI, CA) to rotate.',
  },
  'Key compromise': {
    text: steps([
      'Ask which key leaked: a node key, a client key (which user), the CA key, or an encryption-at-rest store key. The procedure differs; do not assume.',
      '`inspect_certificates {"certs_dir": "/var/lib/cockroach/certs"}`: every certificate that uses the key or was signed by the affected CA.',
      'CA key: `plan_certificate_rotation {"kind": "ca"}` (combined CA first, then re-issue every node and client certificate promptly, then remove the old CA). Node or client key: `plan_certificate_rotation {"kind": "node"} (or "client")`.',
      'CockroachDB does not check revocation unless OCSP is set up (`security.ocsp.mode`): replacing the CA is how a leaked certificate stops being trusted.',
      'Store key: rotate it by restarting each node with `key=<new>,old-key=<current>` (see the encryption-at-rest reference in the skill); `--enterprise-encryption` must stay on every later start, and `cockroach debug encryption-active-key <store dir>` confirms the active key.',
      '`check_certificate_expiry` and `inspect_certificates` to verify; `audit_encryption_posture` for the record.',
    ]),
    checkpoints: [ONE_AT_A_TIME, RELOAD, CA_KEY, 'Never delete a store key the store still references: a lost store key is lost data.'],
    embed: [{ skill: CERTS_SKILL, file: 'ca-rotation.md' }],
    next: 'ask the operator exactly which key leaked and since when.',
  },
  'Compliance audit': {
    text: steps([
      '`audit_encryption_posture {"frameworks": ["SOC2", "HIPAA", "PCI_DSS"]}`: includes the SQL targets configured on this server (certificate expiry, encryption at rest) next to Cloud clusters.',
      '`check_certificate_expiry {"connection": "my-target"}` per self-hosted target for the evidence table.',
      '`verify_encryption_sql {"connection": "my-target"}` per target: encryption-at-rest status per store.',
      '`verify_audit_log`: the trail of every write made through this server is intact.',
    ]),
    checkpoints: ['Read-only: an audit changes nothing.', THRESHOLDS],
    embed: [{ skill: CERTS_SKILL, file: 'expiry-monitoring.md' }],
    next: 'ask for the frameworks (SOC2, HIPAA, PCI_DSS) and run `audit_encryption_posture`.',
  },
  'Add SAN entries': {
    text: steps([
      'Ask for every name and address the nodes must answer to: hostnames, IPs, load-balancer names and IPs (and `localhost`/`127.0.0.1` if local tools use them).',
      '`inspect_certificates {"certs_dir": "/var/lib/cockroach/certs", "hostnames": ["node1.example.com", "lb.example.com"], "ips": ["10.0.0.11"]}`: which node certificates lack which entries.',
      '`plan_certificate_rotation {"kind": "node", "hosts": ["node1.example.com", "10.0.0.11"]}` with the full SAN list.',
      `The operator re-issues node certificates with the CA (offline) and installs them node by node. ${RELOAD}`,
      '`inspect_certificates` again, and a client with `sslmode=verify-full` through each new address.',
    ]),
    checkpoints: [ONE_AT_A_TIME, 'The new certificate must keep every SAN the old one had.', RELOAD, CA_KEY],
    embed: [{ skill: CERTS_SKILL, file: 'certificate-rotation.md' }],
    next: 'ask for the complete list of hostnames, IPs and load-balancer addresses.',
  },
};

/** The self-hosted procedure for a reason. */
export function selfHostedProcedure(reason: Reason): Procedure {
  return PROCEDURES[reason];
}
