/**
 * GETs a CockroachDB HTTP status endpoint (DB Console port, 8080 by default). HTTPS trusts the
 * given CA (the cluster's ca.crt, via sslrootcert) or the system store.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { OperatorError } from '../errors.js';
import { abortError } from './errors.js';

export interface StatusResponse {
  status: number;
  body: string;
}

export interface StatusFetchOptions {
  /** Path of a PEM CA bundle to trust for https. */
  caPath?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const MAX_BODY = 8 * 1024 * 1024;

/** The base URL without credentials, query or trailing slash. */
export function statusBase(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OperatorError('Malformed http_url', 'It is not a valid URL.', 'pass the DB Console address, e.g. https://node1.example.com:8080.', {
      kind: 'malformed',
    });
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.password) {
    throw new OperatorError(
      'Malformed http_url',
      'It must be an http:// or https:// URL without credentials.',
      'pass the DB Console address, e.g. https://node1.example.com:8080.',
      { kind: 'malformed' },
    );
  }
  return parsed;
}

/** GETs base + path. Network failures become OperatorErrors; any HTTP status is returned. */
export async function fetchStatus(baseUrl: string, path: string, options: StatusFetchOptions = {}): Promise<StatusResponse> {
  const base = statusBase(baseUrl);
  const url = new URL(path, `${base.origin}${base.pathname.replace(/\/+$/, '')}/`);
  const ca = options.caPath ? await readFile(options.caPath, 'utf8').catch(() => undefined) : undefined;
  if (options.caPath && ca === undefined) {
    throw new OperatorError(`Cannot read sslrootcert ${options.caPath}`, 'The file is missing or not readable.', 'pass the path of the cluster ca.crt.', {
      kind: 'tls_file',
    });
  }
  if (options.signal?.aborted) throw abortError();
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: 'GET', headers: { accept: 'application/json, text/plain' }, timeout: options.timeoutMs ?? 10_000, ...(ca ? { ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) req.destroy(new Error('response too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    const onAbort = () => req.destroy(abortError());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('close', () => options.signal?.removeEventListener('abort', onAbort));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') return reject(error);
      reject(
        new OperatorError(
          `Cannot reach ${url.origin}`,
          `${error.code ?? error.message}.`,
          'check http_url (the DB Console address, port 8080 by default), that the node is up, and for https that sslrootcert is the cluster ca.crt.',
          { kind: 'unreachable' },
        ),
      );
    });
    req.end();
  });
}
