/**
 * AWS Signature Version 4 verification for the AWS KMS emulator: the signature over the canonical
 * request (and the payload hash) is recomputed with the secret key and compared, as AWS does, so a
 * wrong secret or a request changed after signing is refused. Clock skew is not checked (tests run on fake clocks).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsApiError } from './aws-kms-store.js';

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** What an Authorization header says: who signed, for which day, region and service, over which headers. */
export interface SigV4Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses a SigV4 Authorization header; throws the AWS authentication errors. */
export function parseSigV4Authorization(authorization: string | undefined): SigV4Authorization {
  if (!authorization) throw new AwsApiError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const match = AUTHORIZATION.exec(authorization);
  if (!match) {
    throw new AwsApiError(
      'IncompleteSignatureException',
      'Authorization header requires Credential (AKID/date/region/service/aws4_request), SignedHeaders and Signature parameters.',
    );
  }
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders: signedHeaders!.split(';'), signature: signature! };
}

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as SigV4 wants it for query names and values. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(search: string): string {
  return [...new URLSearchParams(search)]
    .map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(value)}`)
    .sort()
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ');
}

/**
 * Throws InvalidSignatureException unless `authorization` signs this request (method, path,
 * query, signed headers, body) with `secretAccessKey`.
 */
export function verifySigV4(
  request: { method?: string | undefined; url?: string | undefined; headers: IncomingHttpHeaders },
  body: string,
  authorization: SigV4Authorization,
  secretAccessKey: string,
): void {
  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(authorization.date)) {
    throw new AwsApiError('IncompleteSignatureException', 'X-Amz-Date must be set (YYYYMMDDTHHMMSSZ) and match the date of the credential scope.');
  }
  for (const required of ['host', 'x-amz-date']) {
    if (!authorization.signedHeaders.includes(required)) throw new AwsApiError('InvalidSignatureException', `'${required}' must be a signed header.`);
  }
  const payloadHash = sha256Hex(body);
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash && declaredHash !== payloadHash) {
    throw new AwsApiError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const url = new URL(request.url ?? '/', 'http://sandbox');
  const canonicalRequest = [
    request.method ?? 'GET',
    url.pathname,
    canonicalQuery(url.search),
    ...authorization.signedHeaders.map((name) => `${name}:${headerValue(request.headers, name)}`),
    '',
    authorization.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${authorization.date}/${authorization.region}/${authorization.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const dateKey = hmac(`AWS4${secretAccessKey}`, authorization.date);
  const signingKey = hmac(hmac(hmac(dateKey, authorization.region), authorization.service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(authorization.signature, 'hex'))) {
    throw new AwsApiError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}
