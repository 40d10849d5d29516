import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildConfig, type Config } from '../../src/config.js';
import { createRedactor, registerConfigSecrets, secretsInArguments } from '../../src/safety/redact.js';

describe('redactor', () => {
  it('masks registered values anywhere, including URL-encoded forms', () => {
    const redactor = createRedactor();
    redactor.addSecret('s3cr3t/pa ss');
    expect(redactor.redactText('before s3cr3t/pa ssafter')).toBe('before [REDACTED]after');
    expect(redactor.redactText('in a url s3cr3t%2Fpa%20ss here')).toBe('in a url [REDACTED] here');
  });

  it('masks short secrets where a secret stands, without mangling ordinary words', () => {
    const redactor = createRedactor();
    redactor.addSecret('east'); // a plain word: masked in secret positions only
    redactor.addSecret('p!9'); // not a word: masked as a whole token
    redactor.addSecret('42');
    expect(redactor.redactText('east')).toBe('[REDACTED]');
    expect(redactor.redactText("password 'east' rejected; password: east; token=east")).toBe(
      "password '[REDACTED]' rejected; password: [REDACTED]; token=[REDACTED]",
    );
    expect(redactor.redactText('region us-east-1 and northeast, east wing')).toBe('region us-east-1 and northeast, east wing');
    expect(redactor.redactText('postgresql://app:east@db/x')).toBe('postgresql://app:[REDACTED]@db/x');
    expect(redactor.redactText('pw p!9 used; p!90 is not it')).toBe('pw [REDACTED] used; p!90 is not it');
    expect(redactor.redactText('port 26257, 42 nodes, pwd=42')).toBe('port 26257, 42 nodes, pwd=[REDACTED]');
    expect(redactor.redact({ a: 'east', b: ['east-1', 'p!9'] })).toEqual({ a: '[REDACTED]', b: ['east-1', '[REDACTED]'] });
  });

  it("masks a call's own secrets in that call only, and never adds them to the process-wide list", () => {
    const base = createRedactor();
    base.addSecret('configured-secret');
    const before = base.secretCount;
    for (let i = 0; i < 2000; i += 1) {
      const call = base.withSecrets(secretsInArguments({ connection: 'postgresql://root:prod-east@db:26257/x?sslpassword=k3y' }));
      expect(call.redactText('prod-east k3y configured-secret')).toBe('[REDACTED] [REDACTED] [REDACTED]');
    }
    expect(base.secretCount).toBe(before);
    expect(base.redactText('cluster prod-east')).toBe('cluster prod-east');
  });

  it('masks secrets by pattern', () => {
    const redactor = createRedactor();
    const cases: Array<[string, string]> = [
      ['postgresql://app:hunter2@db:26257/x', 'hunter2'],
      ['host=db password=hunter2 sslmode=require', 'hunter2'],
      ['?sslpassword=hunter2&x=1', 'hunter2'],
      ['Authorization: Bearer abcdefghijklmnop', 'abcdefghijklmnop'],
      ['key CCDB1_AbCdEfGhIjKlMnOp used', 'CCDB1_AbCdEfGhIjKlMnOp'],
      ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
      ['{"client_secret":"azure-very-secret","ok":1}', 'azure-very-secret'],
      ['-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----', 'MIIEvQIBADANBg'],
    ];
    for (const [text, secret] of cases) expect(redactor.redactText(text)).not.toContain(secret);
  });

  it('keeps confirmation tokens visible and structure intact', () => {
    const redactor = createRedactor();
    const value = {
      confirmation_token: 'AQAAAa-token',
      confirmationToken: 'AQAAAa-token',
      password: 'pw-value',
      nested: [{ api_key: 'k-value', n: 1 }],
      when: 'confirmation_token=AQAAAa-token',
    };
    expect(redactor.redact(value)).toEqual({
      confirmation_token: 'AQAAAa-token',
      confirmationToken: 'AQAAAa-token',
      password: '[REDACTED]',
      nested: [{ api_key: '[REDACTED]', n: 1 }],
      when: 'confirmation_token=AQAAAa-token',
    });
  });

  it('registers every secret of the configuration', () => {
    const redactor = createRedactor();
    registerConfigSecrets(
      redactor,
      buildConfig({
        auditLog: '/unused',
        auditDb: 'postgres://audit:audit-db-pass@db/audit',
        confirmSecret: 'confirm-secret-0123456789',
        cloud: { apiKey: 'plain-api-key-value' } as unknown as Config['cloud'],
        sql: { targets: { prod: 'postgresql://root:target-pass-1@db:26257/x' } } as unknown as Config['sql'],
      }),
    );
    const text = redactor.redactText('audit-db-pass confirm-secret-0123456789 plain-api-key-value target-pass-1');
    expect(text).toBe('[REDACTED] [REDACTED] [REDACTED] [REDACTED]');
  });

  it('never lets a registered secret through, whatever surrounds it (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6, maxLength: 40 }), fc.string(), fc.string(), (secret, before, after) => {
        const redactor = createRedactor();
        redactor.addSecret(secret);
        expect(redactor.redactText(before + secret + after)).not.toContain(secret);
        expect(JSON.stringify(redactor.redact({ a: [before + secret + after] }))).not.toContain(JSON.stringify(secret).slice(1, -1));
      }),
    );
  });
});
