/** The individual checks of inspect_certificates: leaf certificates and key files. */
import type { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExpiryStatus, Severity } from './thresholds.js';
import { untrustedText } from '../safety/untrusted.js';
import { commonName, extendedKeyUsage, keyMatches } from './x509.js';

/** One certificate found in the directory. */
export interface CertEntry {
  file: string;
  /** Position in the file (a combined CA file holds several). */
  index: number;
  type: string;
  subject: string;
  issuer: string;
  serial_number: string;
  fingerprint256: string;
  not_before: string;
  not_after: string;
  days_left: number | null;
  status: ExpiryStatus;
  is_ca: boolean;
  sans: { dns: string[]; ip: string[] };
  key_usage: string[];
  ext_key_usage: string[];
  /** The CA file (and index) whose key verified the signature; null when none did. */
  signed_by: string | null;
}

export interface Finding {
  severity: Severity;
  code: string;
  file: string | null;
  message: string;
  fix: string;
}

export interface LeafCheck {
  label: string;
  file: string;
  type: string;
  user: string | undefined;
  cert: X509Certificate;
  signerFound: boolean;
  issuerFile: string;
  issuerPresent: boolean;
  /** A separate client.node.crt exists, so node.crt need not be a client certificate. */
  hasClientNode: boolean;
  hostnames: string[];
  ips: string[];
}

/** Chain, SAN coverage, CN and extended key usage of one leaf certificate. */
export function checkLeaf(check: LeafCheck): Finding[] {
  const { label, file, type, cert } = check;
  const findings: Finding[] = [];
  if (!check.signerFound && check.issuerPresent) {
    const ui = type === 'ui' && check.issuerFile === 'ca.crt';
    findings.push({
      severity: ui ? 'low' : 'critical',
      code: 'foreign_ca',
      file,
      message: `${label} is not signed by any certificate in ${check.issuerFile} (issuer: ${cert.issuer.replace(/\n/g, ', ')}).`,
      fix: ui
        ? 'fine if a public CA that browsers trust issued it; otherwise add that CA as ca-ui.crt.'
        : `peers will reject it: re-issue it with the CA of ${check.issuerFile} (cockroach cert create-${type === 'node' ? 'node' : 'client'} ... --ca-key=<safe dir>/${check.issuerFile.replace(/\.crt$/, '.key')}), or fix ${check.issuerFile}.`,
    });
  }
  if (type === 'node' || type === 'ui') {
    const missingHosts = check.hostnames.filter((host) => !cert.checkHost(host, { subject: 'never' }));
    const missingIps = check.ips.filter((ip) => !cert.checkIP(ip));
    if (missingHosts.length || missingIps.length) {
      findings.push({
        severity: type === 'node' ? 'high' : 'medium',
        code: 'san_missing',
        file,
        message: `${label} does not cover ${[...missingHosts, ...missingIps].join(', ')}: clients using ${missingHosts.length + missingIps.length > 1 ? 'those addresses' : 'that address'} fail verify-full.`,
        fix: `re-issue it listing every hostname, IP and load-balancer address (plan_certificate_rotation kind=${type}).`,
      });
    }
  }
  const cn = commonName(cert.subject);
  const shownCn = cn === undefined ? '(none)' : untrustedText(cn);
  const eku = extendedKeyUsage(cert);
  if (type === 'node') {
    if (cn !== 'node' && !check.hasClientNode) {
      findings.push({
        severity: 'high',
        code: 'node_cn',
        file,
        message: `${label} has CN=${shownCn}; node certificates must have CN=node to authenticate between nodes.`,
        fix: 're-issue it with cockroach cert create-node (sets CN=node), or add a client.node.crt.',
      });
    }
    const missing = ['serverAuth', ...(check.hasClientNode ? [] : ['clientAuth'])].filter((usage) => eku.length > 0 && !eku.includes(usage));
    if (missing.length) {
      findings.push({
        severity: 'high',
        code: 'node_eku',
        file,
        message: `${label} lacks extended key usage ${missing.join(' and ')}.`,
        fix: 're-issue it with cockroach cert create-node (it sets serverAuth and clientAuth).',
      });
    }
  }
  if (type === 'client') {
    if (check.user !== undefined && cn !== check.user) {
      findings.push({
        severity: 'high',
        code: 'client_cn_mismatch',
        file,
        message: `${label} has CN=${shownCn} but its file name says user ${untrustedText(check.user)}.`,
        fix: `re-issue it: cockroach cert create-client ${check.user} ...; the CN is the SQL user it authenticates.`,
      });
    }
    if (eku.length > 0 && !eku.includes('clientAuth')) {
      findings.push({
        severity: 'high',
        code: 'client_eku',
        file,
        message: `${label} lacks extended key usage clientAuth.`,
        fix: 're-issue it with cockroach cert create-client.',
      });
    }
  }
  return findings;
}

/** CA private keys (cockroach's names, plus the misnamed client-ca/ui-ca forms): none belongs on a node. */
const CA_KEYS = new Set(['ca.key', 'ca-client.key', 'ca-ui.key', 'ca-client-tenant.key', 'client-ca.key', 'ui-ca.key']);

/** Most a key owned by the cockroach user may allow (cockroach pkg/security maxKeyPermissions). */
const MAX_KEY_MODE = 0o700;
/** Most a root-owned key whose group is cockroach's group may allow (maxGroupKeyPermissions). */
const MAX_ROOT_GROUP_KEY_MODE = 0o740;

const SKIP_CHECK_NOTE =
  "cockroach refuses such a key at start and on SIGHUP (COCKROACH_SKIP_KEY_PERMISSION_CHECK=true disables the check; fixing the mode is the safer choice). On Kubernetes, set the secret volume's defaultMode (e.g. 0400, or 0440 with the pod's fsGroup as cockroach's group) instead of loosening the check.";

export interface KeyFileEntry {
  file: string;
  mode: string;
  owner_uid: number;
  owner_gid: number;
  owned_by_current_user: boolean | null;
}

export interface KeyFilesInput {
  dir: string;
  keyNames: string[];
  parsed: Array<{ file: string; type: string; certs: X509Certificate[] }>;
  /** The user and group cockroach runs as (undefined where the platform has none). */
  uid: number | undefined;
  gid: number | undefined;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/**
 * cockroach's key permission rule (docs cockroach-cert, "Key file permissions"): a key owned by
 * root whose group is the cockroach process's group may be at most 0740; any other key at most
 * 0700. World access is never allowed.
 */
function keyModeFindings(name: string, path: string, mode: number, owner: { uid: number; gid: number }, input: KeyFilesInput): Finding[] {
  const rootGroupKey = owner.uid === 0 && input.gid !== undefined && owner.gid === input.gid;
  const limit = rootGroupKey ? MAX_ROOT_GROUP_KEY_MODE : MAX_KEY_MODE;
  if ((mode & ~limit) === 0) return [];
  const shown = octal(mode);
  const fix = rootGroupKey
    ? `chmod 640 ${path}`
    : `chmod 600 ${path}${owner.uid === 0 ? `, or keep it root-owned and give it cockroach's group: chown root:<cockroach group> ${path} && chmod 640 ${path}` : ''}`;
  if (mode & 0o007) {
    return [
      {
        severity: 'critical',
        code: 'key_world_accessible',
        file: name,
        message: `${name} is accessible to all users (mode ${shown}): anyone on the host can read or replace it. ${SKIP_CHECK_NOTE}`,
        fix,
      },
    ];
  }
  const why = rootGroupKey
    ? `${name} is root-owned with cockroach's group (gid ${owner.gid}), which may only read it (at most 0740); mode ${shown} grants the group more.`
    : owner.uid === 0
      ? `${name} is root-owned but its group (gid ${owner.gid}) is not the group cockroach runs as${input.gid === undefined ? '' : ` (gid ${input.gid})`}, so it may not be group-accessible (mode ${shown}, at most 0700).`
      : `${name} is accessible to its group (mode ${shown}); a key owned by the cockroach user may be at most 0700.`;
  return [{ severity: 'high', code: 'key_group_accessible', file: name, message: `${why} ${SKIP_CHECK_NOTE}`, fix }];
}

/** Permissions, ownership and pairing of every key file; CA keys present; keys missing for leaves. */
export async function checkKeyFiles(input: KeyFilesInput) {
  const findings: Finding[] = [];
  const entries: KeyFileEntry[] = [];
  for (const name of input.keyNames) {
    const path = join(input.dir, name);
    let info;
    try {
      info = await stat(path);
    } catch {
      continue;
    }
    if (!info.isFile()) continue;
    const mode = info.mode & 0o777;
    const owned = input.uid === undefined ? null : info.uid === input.uid;
    entries.push({ file: name, mode: octal(mode), owner_uid: info.uid, owner_gid: info.gid, owned_by_current_user: owned });
    if (CA_KEYS.has(name)) {
      findings.push({
        severity: 'high',
        code: 'ca_key_present',
        file: name,
        message: `${name} (a CA private key) is in the certs directory; whoever reads it can mint certificates for the cluster.`,
        fix: `move it off the node to a safe place (e.g. an offline my-safe-directory) and pass it with --ca-key only when creating certificates.`,
      });
    }
    findings.push(...keyModeFindings(name, path, mode, { uid: info.uid, gid: info.gid }, input));
    const readableByGroup = info.uid === 0 && input.gid !== undefined && info.gid === input.gid && (mode & 0o040) !== 0;
    if (owned === false && !readableByGroup) {
      findings.push({
        severity: 'medium',
        code: 'key_owner',
        file: name,
        message: `${name} is owned by uid ${info.uid}, not by the user cockroach runs as (uid ${input.uid}), and is not a root-owned key readable by its group (gid ${input.gid ?? 'unknown'}).`,
        fix: `chown <the user running cockroach> ${path}, or chown root:<cockroach group> ${path} && chmod 640 ${path}.`,
      });
    }
  }
  for (const file of input.parsed) {
    if (!['node', 'client', 'ui', 'client-tenant'].includes(file.type) || !file.file.endsWith('.crt')) continue;
    const keyName = file.file.replace(/\.crt$/, '.key');
    if (!input.keyNames.includes(keyName)) {
      findings.push({
        severity: file.type === 'node' ? 'medium' : 'low',
        code: 'key_missing',
        file: file.file,
        message: `${file.file} has no ${keyName} beside it.`,
        fix: `copy ${keyName} (mode 0600, owned by the cockroach user) next to it, or remove the unused certificate.`,
      });
      continue;
    }
    let pem: string;
    try {
      pem = await readFile(join(input.dir, keyName), 'utf8');
    } catch {
      findings.push({
        severity: 'info',
        code: 'key_unverified',
        file: keyName,
        message: `${keyName} could not be read, so its match with ${file.file} was not checked.`,
        fix: 'run this check as the user that runs cockroach.',
      });
      continue;
    }
    const matches = keyMatches(file.certs[0]!, pem);
    if (matches === false) {
      findings.push({
        severity: 'critical',
        code: 'key_mismatch',
        file: keyName,
        message: `${keyName} does not belong to ${file.file}; the TLS handshake will fail.`,
        fix: 'install the key created together with this certificate (or re-issue both).',
      });
    } else if (matches === undefined) {
      findings.push({
        severity: 'info',
        code: 'key_unverified',
        file: keyName,
        message: `${keyName} could not be parsed (encrypted?), so its match with ${file.file} was not checked.`,
        fix: 'cockroach needs an unencrypted PEM key; check it loads with openssl pkey -in <key> -noout.',
      });
    }
  }
  return { findings, entries };
}
