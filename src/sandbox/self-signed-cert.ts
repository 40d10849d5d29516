/**
 * A throwaway TLS certificate for a sandbox HTTPS emulator: ECDSA P-256 (generated in a few ms),
 * self-signed, valid for 127.0.0.1 and localhost. Clients trust it by passing `cert` as their CA;
 * nothing ever disables certificate verification.
 */
import { webcrypto } from 'node:crypto';

export interface SelfSignedCert {
  /** PEM certificate; also the CA a client must trust. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Generates a self-signed server certificate for 127.0.0.1 / localhost, valid for `days`. */
export async function createSelfSignedCert(commonName: string, days = 30): Promise<SelfSignedCert> {
  // @peculiar/x509 resolves its dependency container through the Reflect metadata polyfill.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${commonName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + days * DAY_MS),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ]),
      ],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: certificate.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}
