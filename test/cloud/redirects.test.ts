/**
 * The Cloud client never follows a redirect: a server at COCKROACH_API_URL that redirects to
 * another origin gets a refusal, and the other origin receives nothing (so the API key never
 * leaves). Both servers are real HTTP servers on loopback.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudClient } from '../../src/cloud/client.js';
import { CloudApiError } from '../../src/cloud/errors.js';
import { rejection } from '../helpers/harness.js';

const API_KEY = 'CCDB1_redirect-test-key-0123456789';
let redirecting: Server;
let elsewhere: Server;
const received: IncomingMessage[] = [];
const redirected: IncomingMessage[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  elsewhere = createServer((request, response) => {
    received.push(request);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"clusters":[]}');
  });
  const target = await listen(elsewhere);
  redirecting = createServer((request, response) => {
    redirected.push(request);
    const status = [301, 302, 307, 308][redirected.length % 4]!;
    response.writeHead(status, { location: `${target}${request.url}` }).end();
  });
  await listen(redirecting);
});

afterAll(async () => {
  await new Promise((resolve) => redirecting.close(resolve));
  await new Promise((resolve) => elsewhere.close(resolve));
});

describe('cross-origin redirects', () => {
  it('are refused; the other origin receives nothing, the key never leaves', async () => {
    const client = createCloudClient({
      apiKey: API_KEY,
      baseUrl: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`,
      ccVersion: '2024-09-16',
      iamPropagationMs: 0,
      operationDeadlineMs: 1_000,
      pollIntervalMs: 10,
      requestTimeoutMs: 2_000,
      rateLimitPerSecond: 1000,
      maxAttempts: 3,
      retryBaseMs: 1,
      retryMaxMs: 2,
    });
    for (const call of [() => client.listClusters(), () => client.getOrganization()]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(CloudApiError);
      expect(error.kind).toBe('redirect');
      expect(error.message).toMatch(/redirect.*not followed/);
      expect(error.message).not.toContain(API_KEY);
    }
    // Each call reached the configured origin once (no retry of a redirect), and nothing went further.
    expect(redirected.length).toBe(2);
    expect(redirected.every((request) => request.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);
    expect(received).toEqual([]);
  });
});
