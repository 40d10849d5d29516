import { describe, expect, it } from 'vitest';
import { runAudit, type AuditEnv, type AuditOptions } from '../../src/audit/run-audit.js';
import { FRAMEWORKS } from '../../src/audit/types.js';
import type { CmekClusterInfo } from '../../src/cloud/schemas.js';
import type { SqlConnector } from '../../src/sql/connector.js';
import { cluster, fakeCloud, fakeKms, keyDescription, type FakeCloud } from './fakes.js';

const uri = (i: number) => `arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const fleet = Array.from({ length: 30 }, (_, i) =>
  cluster(`c${String(i).padStart(2, '0')}`, { plan: i % 3 === 2 ? 'BASIC' : 'ADVANCED', labels: { env: i % 2 ? 'dev' : 'prod' } }),
);
const cmek: Record<string, CmekClusterInfo> = Object.fromEntries(
  fleet.map((c, i) => [
    c.id,
    {
      status: 'ENABLED',
      region_infos: [
        {
          region: 'us-east-1',
          status: 'ENABLED',
          key_infos: [
            {
              spec: { type: 'AWS_KMS', uri: uri(i), auth_principal: 'arn:aws:iam::111122223333:role/r' },
              status: 'ENABLED',
              created_at: '2026-06-01T00:00:00Z',
            },
          ],
        },
      ],
    },
  ]),
);
const kmsKeys = Object.fromEntries(fleet.map((_, i) => [uri(i), keyDescription(uri(i), 'AWS_KMS')]));

function env(cloud: FakeCloud, overrides: Partial<AuditEnv> = {}) {
  const progress: Array<[number, number | undefined]> = [];
  const value: AuditEnv = {
    cloud,
    kms: fakeKms(kmsKeys).registry,
    sql: {} as SqlConnector,
    now: () => Date.parse('2026-11-24T00:00:00Z'),
    signal: new AbortController().signal,
    progress: async (done, total) => {
      progress.push([done, total]);
    },
    onRequestId: () => {},
    concurrency: 4,
    kmsConcurrency: 4,
    ...overrides,
  };
  return { env: value, progress };
}

const options = (fields: Partial<AuditOptions> = {}): AuditOptions => ({
  scope: { kind: 'all' },
  frameworks: FRAMEWORKS,
  includeKms: true,
  sqlTargets: [],
  ...fields,
});

describe('runAudit', () => {
  it('audits every cluster across pages, streaming them to the workers', async () => {
    const cloud = fakeCloud(fleet, { cmek, pageSize: 7, delayMs: 2 });
    const { env: e, progress } = env(cloud);
    const report = await runAudit(e, options());
    expect(report.complete).toBe(true);
    expect(report.summary).toMatchObject({ clusters_in_scope: 30, clusters_audited: 30, clusters_failed: 0, kms_keys_checked: 20 });
    expect(cloud.calls).toEqual({ list: 5, cmek: 20 });
    expect(report.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual(Array(10).fill('cmek_not_available_on_plan'));
    expect(progress.at(-1)).toEqual([30, 30]);
    expect(report.framework_summary.map((f) => [f.framework, f.status])).toEqual([
      ['SOC2', 'fail'],
      ['HIPAA', 'fail'],
      ['PCI_DSS', 'fail'],
    ]);
    // Nothing self-hosted was checked, so in-transit controls are not assessed rather than passing.
    expect(report.framework_summary[0]!.controls.find((c) => c.control === 'SOC2 CC6.7')!.status).toBe('not_assessed');
  });

  it('scopes by labels and by names or ids, and refuses unknown names before auditing anything', async () => {
    const byLabel = await runAudit(env(fakeCloud(fleet, { cmek })).env, options({ scope: { kind: 'labels', labels: { env: 'dev' } } }));
    expect(byLabel.clusters.map((c) => c.name)).toEqual(fleet.filter((c) => c.labels.env === 'dev').map((c) => c.name));
    const byRef = await runAudit(env(fakeCloud(fleet, { cmek })).env, options({ scope: { kind: 'clusters', refs: ['c01', fleet[4]!.id, 'C01'] } }));
    expect(byRef.clusters.map((c) => c.name)).toEqual(['c01', 'c04']);
    const cloud = fakeCloud(fleet, { cmek });
    await expect(runAudit(env(cloud).env, options({ scope: { kind: 'clusters', refs: ['c1'] } }))).rejects.toThrow(/Cluster 'c1' not found.*Close matches/);
    expect(cloud.calls.cmek).toBe(0);
  });

  it('reports a cluster whose CMEK read fails as failed and completes the others', async () => {
    const cloud = fakeCloud(fleet, { cmek, failing: new Set([fleet[3]!.id]) });
    const report = await runAudit(env(cloud).env, options());
    expect(report.complete).toBe(false);
    expect(report.summary).toMatchObject({ clusters_audited: 29, clusters_failed: 1 });
    expect(report.clusters.find((c) => c.name === 'c03')).toMatchObject({ status: 'failed', error: expect.stringMatching(/HTTP 503/) });
    expect(report.errors).toEqual([{ subject: `cluster c03 (${fleet[3]!.id})`, message: expect.stringMatching(/503/) }]);
    expect(report.framework_summary.every((f) => f.status !== 'pass')).toBe(true);
  });

  it('cancellation returns partial results marked "cancelled after N of M"', async () => {
    const controller = new AbortController();
    const cloud = fakeCloud(fleet, { cmek, delayMs: 15 });
    const { env: e } = env(cloud, {
      signal: controller.signal,
      progress: async (done) => {
        if (done >= 1) controller.abort();
      },
    });
    const report = await runAudit(e, options());
    expect(report.stopped).toEqual({ reason: 'cancelled', message: expect.stringMatching(/^Cancelled after \d+ of 30 clusters$/) });
    expect(report.complete).toBe(false);
    expect(report.summary.clusters_audited).toBeGreaterThanOrEqual(1);
    expect(report.summary.clusters_audited).toBeLessThan(30);
    expect(report.summary.clusters_not_audited).toBe(30 - report.summary.clusters_audited);
    expect(report.summary.clusters_failed).toBe(0);
    expect(report.clusters).toHaveLength(30);
  });

  it('a time limit stops the audit the same way, even while the listing is still paging', async () => {
    const cloud = fakeCloud(fleet, { cmek, delayMs: 30, pageSize: 5 });
    const report = await runAudit(env(cloud).env, options({ timeLimitMs: 100 }));
    expect(report.stopped?.reason).toBe('time_limit');
    expect(report.stopped?.message).toMatch(/^Stopped at the time limit after \d+ of \d+\+ \(listing incomplete\) clusters$/);
  });

  it('a listing that fails after some pages audits what was listed and says the list is incomplete', async () => {
    const report = await runAudit(env(fakeCloud(fleet, { cmek, pageSize: 10, failListingAfterPages: 2 })).env, options());
    expect(report.summary.clusters_in_scope).toBe(20);
    expect(report.complete).toBe(false);
    expect(report.errors[0]).toMatchObject({ subject: 'cluster listing', message: expect.stringMatching(/after 20 clusters/) });
    await expect(runAudit(env(fakeCloud(fleet, { failListingAfterPages: 0 })).env, options())).rejects.toThrow(/503/);
  });

  it('include_kms false asks no KMS and says so; frameworks filter the controls', async () => {
    const kms = fakeKms(kmsKeys);
    const report = await runAudit(env(fakeCloud(fleet, { cmek }), { kms: kms.registry }).env, options({ includeKms: false, frameworks: ['HIPAA'] }));
    expect(kms.calls).toEqual({ describe: 0, access: 0 });
    expect(report.summary.kms).toBe('skipped');
    expect(report.findings.filter((f) => f.code === 'kms_checks_skipped')).toHaveLength(1);
    expect(report.framework_summary.map((f) => f.framework)).toEqual(['HIPAA']);
    expect(new Set(report.findings.flatMap((f) => f.controls))).toEqual(new Set(['HIPAA 164.312(a)(2)(iv)']));
  });
});
