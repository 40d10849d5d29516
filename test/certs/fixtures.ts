/**
 * Certificate sets generated in the tests with @peculiar/x509 (ECDSA P-256 for speed): a CA,
 * node and client certificates, written into cockroach-style certs directories.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

export interface Issued {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function validity(days: number, now: number): { notBefore: Date; notAfter: Date } {
  const notAfter = new Date(now + days * DAY);
  return { notBefore: new Date(Math.min(now - DAY, notAfter.getTime() - 400 * DAY)), notAfter };
}

/** A self-signed CA valid for `days` from now. */
export async function createCa(cn = 'Cockroach CA', days = 3650, now = Date.now()): Promise<Issued> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}, O=Cockroach`,
    ...validity(days, now),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

export interface LeafOptions {
  cn: string;
  days: number;
  dns?: string[];
  ips?: string[];
  eku?: Array<'serverAuth' | 'clientAuth'>;
  now?: number;
}

let serial = 2;

/** A leaf certificate signed by `ca`. */
export async function issue(ca: Issued, options: LeafOptions): Promise<Issued> {
  const keys = await keyPair();
  const names = [
    ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const eku = options.eku ?? ['serverAuth', 'clientAuth'];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject: `CN=${options.cn}, O=Cockroach`,
    issuer: ca.cert.subject,
    ...validity(options.days, options.now ?? Date.now()),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(eku.map((usage) => x509.ExtendedKeyUsage[usage])),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

/** Writes files (content, mode) into a fresh temporary certs directory. */
export function writeCertsDir(files: Record<string, { content: string; mode?: number }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'crdb-certs-'));
  for (const [name, file] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, file.content);
    chmodSync(path, file.mode ?? (name.endsWith('.key') ? 0o600 : 0o644));
  }
  return dir;
}

/** A healthy node directory: ca.crt, node.crt/key, client.root.crt/key. */
export async function healthyNodeDir(): Promise<{ dir: string; ca: Issued; node: Issued; root: Issued }> {
  const ca = await createCa();
  const node = await issue(ca, { cn: 'node', days: 365, dns: ['node1.example.com', 'localhost', 'lb.example.com'], ips: ['10.0.0.1', '127.0.0.1'] });
  const root = await issue(ca, { cn: 'root', days: 365, eku: ['clientAuth'] });
  const dir = writeCertsDir({
    'ca.crt': { content: ca.certPem },
    'node.crt': { content: node.certPem },
    'node.key': { content: node.keyPem },
    'client.root.crt': { content: root.certPem },
    'client.root.key': { content: root.keyPem },
  });
  return { dir, ca, node, root };
}
