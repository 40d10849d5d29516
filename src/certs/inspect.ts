/**
 * Inspects a cockroach certs directory: parses every certificate with node:crypto, and checks
 * chains, SAN coverage, key-file permissions and ownership, CA keys on nodes, client CNs and
 * expiry. Reads files only; never returns key material.
 */
import { MAX_MESSAGE, untrustedText } from '../safety/untrusted.js';
import type { X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { OperatorError } from '../errors.js';
import { certTypeInfo, nextAction } from './cert-types.js';
import { checkKeyFiles, checkLeaf, type CertEntry, type Finding, type KeyFileEntry } from './inspect-checks.js';
import { classifyExpiry, SEVERITY_RANK, worstSeverity, type CertRole, type Severity } from './thresholds.js';
import { extendedKeyUsage, keyUsage, parsePemCertificates, signedBy, subjectAltNames } from './x509.js';

export type { CertEntry, Finding } from './inspect-checks.js';

export interface InspectRequest {
  certsDir: string;
  hostnames?: string[];
  ips?: string[];
  user?: string;
  now: number;
  /** The user cockroach runs as (key owner rules); defaults to this process's user. */
  uid?: number;
  /** The group cockroach runs as (a root-owned key may be readable by it); defaults to this process's group. */
  gid?: number;
}

export type { KeyFileEntry } from './inspect-checks.js';

export interface InspectReport {
  certs_dir: string;
  certificates: CertEntry[];
  key_files: KeyFileEntry[];
  findings: Finding[];
  summary: { certificates: number; key_files: number; findings: number; worst: Severity; by_severity: Record<Severity, number> };
}

/** The CA bundle files cockroach reads (pkg/security), by certificate type (metric suffix). */
const CA_FILES: Record<string, string> = { ca: 'ca.crt', 'client-ca': 'ca-client.crt', 'ui-ca': 'ca-ui.crt', 'ca-client-tenant': 'ca-client-tenant.crt' };

/** Names often used by mistake for the separate CA certificates; cockroach ignores these files. */
const MISNAMED_CA_FILES: Record<string, string> = { 'client-ca.crt': 'ca-client.crt', 'ui-ca.crt': 'ca-ui.crt' };

/** What a certificate file is, from its cockroach file name. */
export function classifyCertFile(name: string): { type: string; user?: string } {
  for (const [type, file] of Object.entries(CA_FILES)) if (name === file) return { type };
  if (name === 'node.crt') return { type: 'node' };
  if (name === 'ui.crt') return { type: 'ui' };
  const client = /^client\.(.+)\.crt$/.exec(name);
  if (client) return { type: 'client', user: client[1]! };
  if (/^client-tenant\..+\.crt$/.test(name)) return { type: 'client-tenant' };
  if (/^tenant-signing\..+\.crt$/.test(name)) return { type: 'tenant-signing' };
  return { type: 'other' };
}

/** Which CA file should have signed a leaf of this type. */
function expectedIssuerFile(type: string, present: Set<string>): string | undefined {
  const preferred: Record<string, string> = { client: CA_FILES['client-ca']!, 'client-tenant': CA_FILES['ca-client-tenant']!, ui: CA_FILES['ui-ca']! };
  if (type === 'node') return 'ca.crt';
  if (preferred[type]) return present.has(preferred[type]!) ? preferred[type] : 'ca.crt';
  return undefined;
}

async function resolveDir(dir: string): Promise<string> {
  const expanded = dir === '~' || dir.startsWith('~/') ? homedir() + dir.slice(1) : dir;
  if (!isAbsolute(expanded)) {
    throw new OperatorError(
      'certs_dir must be an absolute path',
      `"${dir}" is relative, and this server's working directory is not yours.`,
      'pass the full path, e.g. /var/lib/cockroach/certs or ~/certs.',
      { kind: 'invalid_path' },
    );
  }
  let info;
  try {
    info = await stat(expanded);
  } catch (error) {
    throw new OperatorError(
      `Cannot open ${dir}`,
      `${(error as NodeJS.ErrnoException).code ?? 'stat failed'}: it does not exist or is not readable by this server.`,
      'check the path (the directory passed to cockroach start --certs-dir).',
      { kind: 'not_found' },
    );
  }
  if (!info.isDirectory())
    throw new OperatorError(
      `${dir} is not a directory`,
      'certs_dir must be the certificates directory itself.',
      'pass the directory holding ca.crt and node.crt.',
      { kind: 'invalid_path' },
    );
  return expanded;
}

interface Parsed {
  file: string;
  type: string;
  user?: string;
  certs: X509Certificate[];
  mode: number;
}

/** Combined CA files hold a few certificates; anything much larger is not a certificate file. */
const MAX_CERT_FILE_BYTES = 1024 * 1024;

/** Inspects the directory. Throws OperatorError when it cannot be read or holds no certificates. */
export async function inspectCertificates(request: InspectRequest): Promise<InspectReport> {
  const dir = await resolveDir(request.certsDir);
  const names = (await readdir(dir)).sort();
  const findings: Finding[] = [];
  const parsed: Parsed[] = [];
  for (const name of names.filter((n) => /\.(crt|pem)$/.test(n))) {
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) continue;
      // Only certificate files are read, and nothing of a file that is not one reaches the answer.
      if (info.size > MAX_CERT_FILE_BYTES) throw new Error(`it is ${info.size} bytes, too large for a certificate file`);
      const certs = parsePemCertificates(await readFile(path, 'utf8'));
      if (certs.length === 0) throw new Error('no PEM certificate in it');
      parsed.push({ file: name, ...classifyCertFile(name), certs, mode: info.mode & 0o777 });
    } catch (error) {
      const shown = untrustedText(name);
      findings.push({
        severity: 'high',
        code: 'unparseable',
        file: shown,
        message: `${shown} could not be parsed: ${untrustedText((error as Error).message.replaceAll(path, shown), MAX_MESSAGE)}.`,
        fix: 'replace it with the PEM certificate cockroach cert created, or remove it.',
      });
    }
  }
  const keyNames = names.filter((n) => n.endsWith('.key'));
  if (parsed.length === 0 && keyNames.length === 0) {
    throw new OperatorError(
      `No certificates in ${request.certsDir}`,
      'The directory has no .crt, .pem or .key files.',
      'pass the directory given to cockroach start --certs-dir.',
      { kind: 'empty' },
    );
  }
  const present = new Set(parsed.map((p) => p.file));
  const bundles = new Map(parsed.filter((p) => Object.values(CA_FILES).includes(p.file)).map((p) => [p.file, p.certs]));
  if (!present.has('ca.crt')) {
    findings.push({
      severity: 'critical',
      code: 'ca_missing',
      file: 'ca.crt',
      message: 'ca.crt is missing: cockroach needs it to verify peers and clients.',
      fix: 'copy the cluster ca.crt (never ca.key) into this directory.',
    });
  }
  const certificates: CertEntry[] = [];
  for (const file of parsed) {
    const caFile = Object.values(CA_FILES).includes(file.file);
    file.certs.forEach((cert, index) => {
      const role: CertRole = caFile || (file.type === 'other' && cert.ca) ? 'ca' : 'leaf';
      const verdict = classifyExpiry(role, Date.parse(cert.validTo), request.now);
      const issuerFile = expectedIssuerFile(file.type, present);
      const issuers = issuerFile ? (bundles.get(issuerFile) ?? []) : caFile ? [cert] : [];
      const signer = issuers.findIndex((issuer) => signedBy(cert, issuer));
      const entry: CertEntry = {
        file: file.file,
        index,
        type: file.type,
        subject: untrustedText(cert.subject.replace(/\n/g, ', ')),
        issuer: untrustedText(cert.issuer.replace(/\n/g, ', ')),
        serial_number: cert.serialNumber,
        fingerprint256: cert.fingerprint256,
        not_before: new Date(cert.validFrom).toISOString(),
        not_after: new Date(cert.validTo).toISOString(),
        days_left: verdict.daysLeft,
        status: verdict.status,
        is_ca: cert.ca,
        sans: subjectAltNames(cert),
        key_usage: keyUsage(cert),
        ext_key_usage: extendedKeyUsage(cert),
        signed_by:
          signer < 0 ? null : `${issuerFile ?? file.file}${(issuerFile ? bundles.get(issuerFile)!.length : file.certs.length) > 1 ? `[${signer}]` : ''}`,
      };
      certificates.push(entry);
      const label = file.certs.length > 1 ? `${file.file}[${index}]` : file.file;
      if (verdict.status !== 'ok' && verdict.status !== 'missing') {
        const older = caFile && file.certs.length > 1 && index > 0;
        findings.push({
          severity: older ? 'low' : verdict.severity,
          code: `certificate_${verdict.status}`,
          file: file.file,
          message: `${label} (${certTypeInfo(file.type === 'other' ? (cert.ca ? 'ca' : 'node') : file.type).label}) ${verdict.status === 'expired' ? 'expired' : 'expires'} ${verdict.daysLeft! < 0 ? `${-verdict.daysLeft!} days ago` : `in ${verdict.daysLeft} days`} (${entry.not_after}).${older ? ' It is an older CA in a combined CA file.' : ''}`,
          fix: older
            ? 'remove it from the file only after every certificate it signed has been re-issued by the new CA.'
            : nextAction(file.type === 'other' ? 'node' : file.type, verdict),
        });
      }
      if (Date.parse(cert.validFrom) > request.now) {
        findings.push({
          severity: 'high',
          code: 'not_yet_valid',
          file: file.file,
          message: `${label} is not valid before ${entry.not_before}.`,
          fix: 'check the clock of the machine that issued it, or wait; peers reject it until then.',
        });
      }
      if (caFile) {
        if (!cert.ca)
          findings.push({
            severity: 'high',
            code: 'ca_not_ca',
            file: file.file,
            message: `${label} is not a CA certificate (basicConstraints CA is false).`,
            fix: `put the CA certificate in ${file.file}; leaf certificates belong in their own files.`,
          });
      } else if (issuerFile) {
        findings.push(
          ...checkLeaf({
            label,
            file: file.file,
            type: file.type,
            user: file.user,
            cert,
            signerFound: signer >= 0,
            issuerFile,
            issuerPresent: present.has(issuerFile),
            hasClientNode: present.has('client.node.crt'),
            hostnames: request.hostnames ?? [],
            ips: request.ips ?? [],
          }),
        );
      }
    });
    if (caFile && file.certs.length > 1) {
      findings.push({
        severity: 'info',
        code: 'combined_ca',
        file: file.file,
        message: `${file.file} holds ${file.certs.length} CA certificates: a combined CA (rotation in progress?).`,
        fix: 'finish re-issuing every node and client certificate with the new CA before removing the old one.',
      });
    }
    if (file.mode & 0o022) {
      findings.push({
        severity: 'medium',
        code: 'cert_writable',
        file: file.file,
        message: `${file.file} is writable by group or others (mode ${file.mode.toString(8).padStart(4, '0')}).`,
        fix: `chmod 644 ${join(dir, file.file)}`,
      });
    }
  }
  if ((request.hostnames?.length || request.ips?.length) && !present.has('node.crt')) {
    findings.push({
      severity: 'info',
      code: 'no_node_cert',
      file: null,
      message: 'No node.crt here, so host and IP coverage could not be checked.',
      fix: 'point certs_dir at a node certs directory to check SANs.',
    });
  }
  for (const name of names.filter((n) => n in MISNAMED_CA_FILES)) {
    const proper = MISNAMED_CA_FILES[name]!;
    findings.push({
      severity: 'high',
      code: 'misnamed_ca_file',
      file: name,
      message: `${name} is not a name cockroach reads: it ignores this file and verifies with ca.crt instead.`,
      fix: `rename it to ${proper} (mv ${join(dir, name)} ${join(dir, proper)}), then reload with SIGHUP.`,
    });
  }
  if (present.has(CA_FILES['client-ca']!) && present.has('node.crt') && !present.has('client.node.crt')) {
    findings.push({
      severity: 'high',
      code: 'client_node_missing',
      file: 'client.node.crt',
      message: `${CA_FILES['client-ca']} (a separate client CA) is present but client.node.crt is not: with a separate client CA, nodes authenticate to each other with client.node.crt signed by that CA.`,
      fix: `cockroach cert create-client node --certs-dir=<dir> --ca-key=<safe dir>/ca-client.key, then copy client.node.crt and client.node.key (0600) here.`,
    });
  }
  if (request.user && !present.has(`client.${request.user}.crt`)) {
    const caKey = present.has(CA_FILES['client-ca']!) ? 'ca-client.key' : 'ca.key';
    findings.push({
      severity: 'medium',
      code: 'client_cert_missing',
      file: `client.${request.user}.crt`,
      message: `No client certificate for user ${request.user}.`,
      fix: `cockroach cert create-client ${request.user} --certs-dir=<dir> --ca-key=<safe dir>/${caKey}`,
    });
  }
  const keys = await checkKeyFiles({ dir, keyNames, parsed, uid: request.uid ?? process.getuid?.(), gid: request.gid ?? process.getgid?.() });
  findings.push(...keys.findings);
  findings.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || (a.file ?? '').localeCompare(b.file ?? ''));
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const finding of findings) bySeverity[finding.severity] += 1;
  return {
    certs_dir: request.certsDir,
    certificates,
    key_files: keys.entries,
    findings,
    summary: {
      certificates: certificates.length,
      key_files: keys.entries.length,
      findings: findings.length,
      worst: worstSeverity(findings.map((f) => f.severity)),
      by_severity: bySeverity,
    },
  };
}
