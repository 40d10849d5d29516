import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/errors.js';
import { displayUrl, parseConnectionUrl, resolveConnection } from '../../src/sql/connection.js';
import { toSqlError } from '../../src/sql/errors.js';
import { backoffDelay, withRetry } from '../../src/sql/retry.js';

const SECRET = 'S3cr3t-p@ss';
const conn = { host: 'db.example.com', port: 26257, user: 'app', database: 'bank' };

function operatorError(fn: () => unknown): OperatorError {
  try {
    fn();
  } catch (error) {
    if (error instanceof OperatorError) return error;
    throw error;
  }
  throw new Error('expected an OperatorError');
}

describe('parseConnectionUrl', () => {
  it('fills CockroachDB defaults and keeps TLS parameters', () => {
    expect(parseConnectionUrl('postgresql://db.example.com')).toMatchObject({
      host: 'db.example.com',
      port: 26257,
      user: 'root',
      database: 'defaultdb',
      sslmode: 'verify-full',
      cloud: false,
    });
    const parsed = parseConnectionUrl(
      `postgres://app:${encodeURIComponent(SECRET)}@[::1]:26000/bank?sslmode=verify-ca&sslrootcert=/c/ca.crt&sslcert=/c/client.app.crt&sslkey=/c/client.app.key&options=--cluster%3Dx&connect_timeout=5`,
    );
    expect(parsed).toMatchObject({
      host: '::1',
      port: 26000,
      user: 'app',
      password: SECRET,
      database: 'bank',
      sslmode: 'verify-ca',
      sslrootcert: '/c/ca.crt',
      sslcert: '/c/client.app.crt',
      options: '--cluster=x',
      connectTimeoutMs: 5000,
    });
    expect(parseConnectionUrl('postgresql://x.aws-us-east-1.cockroachlabs.cloud:26257/defaultdb').cloud).toBe(true);
  });

  it('treats require with a root certificate as verify-ca, and lets tool inputs override the URL', () => {
    expect(parseConnectionUrl('postgresql://h/db?sslmode=require&sslrootcert=/ca.crt').sslmode).toBe('verify-ca');
    expect(parseConnectionUrl('postgresql://h/db?sslmode=disable', { sslmode: 'verify-full', sslrootcert: '/x/ca.crt' })).toMatchObject({
      sslmode: 'verify-full',
      sslrootcert: '/x/ca.crt',
    });
  });

  it('rejects malformed strings with a clear message that never echoes them', () => {
    const cases: Array<[string, RegExp]> = [
      [`mysql://u:${SECRET}@h/db`, /does not start with postgresql/],
      [`postgresql://u:%zz${SECRET}@h/db`, /invalid percent-encoding/],
      [`postgresql://u:${SECRET}@/db`, /no host|not a valid URL/],
      [`postgresql://u:${SECRET}@h1,h2/db`, /Multi-host/],
      [`postgresql://u:${SECRET}@h/db?sslmode=prefer`, /falls back to plaintext/],
      [`postgresql://u:${SECRET}@h/db?sslmode=bogus`, /Unknown sslmode/],
      [`postgresql://u:${SECRET}@h/db?connect_timeout=-1`, /connect_timeout/],
      [`postgresql://u:${SECRET}@h/db?sslcert=/a.crt`, /together/],
      [`postgresql://u:${SECRET}@h:99999/db`, /port|not a valid URL/],
    ];
    for (const [url, why] of cases) {
      const error = operatorError(() => parseConnectionUrl(url));
      expect(error.what).toBe('Malformed connection string');
      expect(error.why).toMatch(why);
      expect(error.message).not.toContain(SECRET);
    }
  });

  it('masks the password in the display form', () => {
    const parsed = parseConnectionUrl(`postgresql://app:${SECRET}@db:26257/bank?sslmode=verify-full`);
    expect(displayUrl(parsed)).toBe('postgresql://app:***@db:26257/bank?sslmode=verify-full');
  });

  it('never throws anything but OperatorError, nor echoes a password, for arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('postgresql://', 'postgres://', ''), (tail, scheme) => {
        try {
          parseConnectionUrl(`${scheme}${tail}`);
        } catch (error) {
          expect(error).toBeInstanceOf(OperatorError);
          expect((error as OperatorError).message).not.toContain(tail.length > 8 ? tail : '\u0000never');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('resolveConnection', () => {
  const source = {
    targets: { prod: `postgresql://app:${SECRET}@prod:26257/bank`, lazy: async () => 'postgresql://root@127.0.0.1:5432/defaultdb?sslmode=disable' },
  };

  it('resolves URLs, named targets (lazy ones too) and the default', async () => {
    expect((await resolveConnection({ connection: 'postgresql://h/db' }, source)).source).toBe('url');
    const prod = await resolveConnection({ connection: 'prod' }, source);
    expect(prod).toMatchObject({ source: 'target', targetName: 'prod', host: 'prod', password: SECRET });
    expect(prod.display).toBe('prod (postgresql://app:***@prod:26257/bank?sslmode=verify-full)');
    expect((await resolveConnection({ connection: 'lazy' }, source)).port).toBe(5432);
    expect((await resolveConnection({}, { ...source, defaultTarget: source.targets.lazy })).source).toBe('default');
  });

  it('lists the known targets for an unknown name and explains a missing default', async () => {
    await expect(resolveConnection({ connection: 'staging' }, source)).rejects.toMatchObject({
      what: "Unknown SQL target 'staging'",
      why: 'Configured targets: prod, lazy.',
    });
    await expect(resolveConnection({ connection: '__proto__' }, source)).rejects.toThrow(/Malformed|Unknown/);
    await expect(resolveConnection({}, source)).rejects.toMatchObject({ what: 'No SQL connection given' });
    await expect(resolveConnection({ connection: 'https://example.com' }, source)).rejects.toMatchObject({
      why: 'Only postgresql:// (or postgres://) URLs are accepted.',
    });
  });
});

describe('toSqlError', () => {
  it('maps network, TLS, auth, permission and retry failures to operator errors', () => {
    const map = (error: object) => toSqlError(Object.assign(new Error((error as { message?: string }).message ?? 'x'), error), conn) as OperatorError;
    expect(map({ code: 'ECONNREFUSED' }).what).toBe('Cannot connect to db.example.com:26257');
    expect(map({ code: 'ENOTFOUND' }).what).toBe('Cannot resolve host db.example.com');
    expect(map({ message: 'timeout expired' }).what).toContain('Timed out');
    expect(map({ code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' }).what).toContain('TLS verification');
    expect(map({ message: 'The server does not support SSL connections' }).what).toContain('does not accept TLS');
    expect(map({ code: '28P01', message: 'password authentication failed for user "app"' }).what).toBe(
      'Authentication failed for user app on db.example.com:26257',
    );
    expect(map({ code: '42501', message: 'permission denied' }).details).toMatchObject({ kind: 'permission_denied', sqlstate: '42501' });
    expect(map({ code: '40001', message: 'restart transaction' }).what).toContain('kept conflicting');
    expect(map({ code: '57014', message: 'canceling statement due to statement timeout' }).what).toContain('timed out');
    const bug = new TypeError('x is undefined');
    expect(toSqlError(bug, conn)).toBe(bug);
  });
});

describe('retry', () => {
  it('backs off exponentially with jitter under a cap', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 300 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(2, policy, () => 1)).toBe(200);
    expect(backoffDelay(6, policy, () => 1)).toBe(300);
  });

  it('retries only 40001, up to the cap', async () => {
    const policy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
    let calls = 0;
    await expect(withRetry(async () => (++calls < 3 ? Promise.reject(Object.assign(new Error('r'), { code: '40001' })) : 'ok'), policy)).resolves.toBe('ok');
    calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(Object.assign(new Error('r'), { code: '40001' }))), policy)).rejects.toMatchObject({
      code: '40001',
    });
    expect(calls).toBe(3);
    calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(Object.assign(new Error('p'), { code: '42501' }))), policy)).rejects.toMatchObject({
      code: '42501',
    });
    expect(calls).toBe(1);
  });
});
