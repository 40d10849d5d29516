/**
 * Small X.509 helpers on top of node:crypto's X509Certificate: PEM splitting, SANs, the subject
 * CN, key usage (node:crypto exposes only extended key usage) and key/certificate matching.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { untrustedText } from '../safety/untrusted.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file (a combined CA file holds several). */
export function parsePemCertificates(text: string): X509Certificate[] {
  return (text.match(PEM_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

/** DNS names and IP addresses from subjectAltName (as untrustedText() renders them). */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    const [kind, ...rest] = part.split(':');
    const value = untrustedText(rest.join(':').replace(/^"|"$/g, ''));
    if (kind === 'DNS') dns.push(value);
    else if (kind === 'IP Address') ip.push(value);
  }
  return { dns, ip };
}

/** The subject's common name, if any, as the certificate holds it (render it with untrustedText()). */
export function commonName(distinguishedName: string): string | undefined {
  for (const line of distinguishedName.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

const KEY_USAGE_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
const KEY_USAGE_BITS = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** The KeyUsage extension (2.5.29.15), read from the DER; [] when absent or unreadable. */
export function keyUsage(cert: X509Certificate): string[] {
  const der = cert.raw;
  let at = der.indexOf(KEY_USAGE_OID);
  if (at < 0) return [];
  at += KEY_USAGE_OID.length;
  if (der[at] === 0x01 && der[at + 1] === 0x01) at += 3; // critical BOOLEAN
  if (der[at] !== 0x04) return [];
  at += 2; // OCTET STRING, short length
  if (der[at] !== 0x03) return [];
  const length = der[at + 1]!;
  const unused = der[at + 2]!;
  const bits: string[] = [];
  for (let byte = 0; byte < length - 1; byte++) {
    const value = der[at + 3 + byte]!;
    for (let bit = 0; bit < 8; bit++) {
      const index = byte * 8 + bit;
      const last = byte === length - 2 && bit >= 8 - unused;
      if (!last && value & (0x80 >> bit) && KEY_USAGE_BITS[index]) bits.push(KEY_USAGE_BITS[index]!);
    }
  }
  return bits;
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

/** Extended key usage names (unknown OIDs as they are). */
export function extendedKeyUsage(cert: X509Certificate): string[] {
  return (cert.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid);
}

/** Whether `issuer` signed `cert`. */
export function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Whether a PEM private key belongs to the certificate; undefined when the key cannot be read (e.g. encrypted). */
export function keyMatches(cert: X509Certificate, keyPem: string): boolean | undefined {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    return Buffer.compare(fromKey, cert.publicKey.export({ type: 'spki', format: 'der' })) === 0;
  } catch {
    return undefined;
  }
}
