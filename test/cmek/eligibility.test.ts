import { describe, expect, it } from 'vitest';
import { assessEligibility } from '../../src/cmek/eligibility.js';
import { seededCluster, seededCmek, type SeededName } from './fixtures.js';

function assess(name: SeededName, overrides = {}) {
  return assessEligibility(seededCluster(name, overrides), { known: true, info: seededCmek(name) });
}

describe('assessEligibility', () => {
  it('an Advanced private cluster without CMEK cannot be fully verified: the add-on is invisible', () => {
    const report = assess('analytics-gcp');
    expect(report.verdict).toBe('cannot_verify');
    expect(report.cmekEnabled).toBe(false);
    expect(report.reasons).toEqual([expect.stringContaining('cannot be verified through the API')]);
    expect(report.nextStep).toMatch(/advanced security features.*provision_cmek_key.*enable_cmek/);
  });

  it('a cluster already on CMEK is eligible and points to rotate_cmek', () => {
    const report = assess('prod-east');
    expect(report.verdict).toBe('eligible');
    expect(report.cmekEnabled).toBe(true);
    expect(report.nextStep).toMatch(/rotate_cmek/);
    expect(report.checks.find((c) => c.check === 'advanced_security_addon')?.result).toBe('pass');
  });

  it('a failed rotation counts as CMEK on, with a resume hint', () => {
    const report = assess('reports-aws');
    expect(report.cmekEnabled).toBe(true);
    expect(report.checks.find((c) => c.check === 'operation_in_progress')?.result).toBe('warn');
    expect(report.nextStep).toMatch(/re-run rotate_cmek/);
  });

  it('Azure: public is expected (no private clusters on Azure), CMEK is in Preview', () => {
    const report = assess('payments-azure');
    expect(report.verdict).toBe('cannot_verify');
    expect(report.checks.find((c) => c.check === 'network_visibility')).toMatchObject({ result: 'pass' });
    expect(report.checks.find((c) => c.check === 'cloud_provider')).toMatchObject({ result: 'warn', detail: expect.stringMatching(/Preview/) });
    expect(report.reasons.join(' ')).not.toMatch(/private/i);
  });

  it('BYOC is reported as not verifiable, never as a pass', () => {
    const report = assess('byoc-ledger');
    expect(report.verdict).toBe('cannot_verify');
    expect(report.checks.find((c) => c.check === 'byoc')?.result).toBe('unknown');
    expect(report.nextStep).toMatch(/BYOC/);
  });

  it.each(['web-standard', 'dev-basic'] as const)('%s is not eligible and is told to create an Advanced cluster', (name) => {
    const report = assess(name);
    expect(report.verdict).toBe('not_eligible');
    expect(report.reasons[0]).toMatch(/does not support CMEK/);
    expect(report.nextStep).toMatch(/create such a cluster/);
  });

  it('a public Advanced cluster is not eligible', () => {
    expect(assess('analytics-gcp', { network_visibility: 'PUBLIC' }).verdict).toBe('not_eligible');
  });

  it('a running operation blocks, with a wait step', () => {
    const report = assess('analytics-gcp', { operation_status: 'CRDB_SCALE_RUNNING' });
    expect(report.verdict).toBe('not_eligible');
    expect(report.nextStep).toMatch(/^Wait/);
  });

  it('an unreadable CMEK status makes the verdict cannot_verify', () => {
    const report = assessEligibility(seededCluster('analytics-gcp'), { known: false, error: 'HTTP 403' });
    expect(report.verdict).toBe('cannot_verify');
    expect(report.reasons.join(' ')).toMatch(/HTTP 403/);
  });

  it('a revoked cluster needs support', () => {
    const report = assessEligibility(seededCluster('analytics-gcp'), { known: true, info: { status: 'REVOKED', region_infos: [] } });
    expect(report.verdict).toBe('not_eligible');
    expect(report.nextStep).toMatch(/support/);
  });
});
