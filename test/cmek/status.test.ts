import { describe, expect, it } from 'vitest';
import { currentKey, pastKeys } from '../../src/cmek/key-infos.js';
import { summarizeCmek } from '../../src/cmek/status.js';
import { AWS_KEYS, awsKeyArn } from '../../src/sandbox/seed.js';
import { seededCluster, seededCmek } from './fixtures.js';

const NOW = Date.parse('2026-11-10T00:00:00Z');

describe('key_infos', () => {
  it('takes the newest key as current, whatever the list order', () => {
    const region = seededCmek('prod-east')!.region_infos![0]!;
    region.key_infos!.reverse();
    expect(currentKey(region)?.spec?.uri).toBe(awsKeyArn(AWS_KEYS.prodEastUsEast1));
    expect(pastKeys(region).map((key) => key.spec?.uri)).toEqual([awsKeyArn(AWS_KEYS.prodEastPast)]);
  });
});

describe('summarizeCmek', () => {
  it('shows current and past keys with their age and tells to keep past keys', () => {
    const view = summarizeCmek(seededCluster('prod-east'), seededCmek('prod-east'), NOW);
    expect(view.status).toBe('ENABLED');
    expect(view.cmek_enabled).toBe(true);
    const east = view.regions.find((r) => r.region === 'us-east-1')!;
    expect(east.current_key).toMatchObject({ uri: awsKeyArn(AWS_KEYS.prodEastUsEast1), status: 'ENABLED', age_days: 618 });
    expect(east.past_keys).toEqual([expect.objectContaining({ uri: awsKeyArn(AWS_KEYS.prodEastPast), status: 'DISABLED' })]);
    expect(view.problems).toEqual([]);
    expect(view.next_step).toMatch(/Never disable or delete a past key/);
  });

  it('reports a failed rotation with its user_message and the resume step', () => {
    const view = summarizeCmek(seededCluster('reports-aws'), seededCmek('reports-aws'), NOW);
    expect(view.status).toBe('ROTATE_FAILED');
    expect(view.regions[0]!.failures[0]).toMatch(/is disabled; re-enable it/);
    expect(view.problems[0]).toMatch(/^eu-west-1: ROTATE_FAILED - KMS key .* is disabled/);
    expect(view.next_step).toMatch(/re-run rotate_cmek \(it resumes only the failed regions\)/);
  });

  it('a cluster without CMEK lists its regions as NOT_ENABLED and points to enabling', () => {
    const view = summarizeCmek(seededCluster('analytics-gcp'), null, NOW);
    expect(view.status).toBe('NOT_ENABLED');
    expect(view.cmek_enabled).toBe(false);
    expect(view.regions.map((r) => [r.region, r.status])).toEqual([
      ['us-central1', 'NOT_ENABLED'],
      ['europe-west1', 'NOT_ENABLED'],
    ]);
    expect(view.next_step).toMatch(/enable_cmek/);
  });

  it('flags a cluster region that has no CMEK key', () => {
    const cluster = seededCluster('prod-east');
    cluster.regions.push({ name: 'eu-west-1' });
    const view = summarizeCmek(cluster, seededCmek('prod-east'), NOW);
    expect(view.problems).toEqual(['eu-west-1: no CMEK key for this cluster region.']);
  });

  it('an in-progress operation says to wait', () => {
    const info = seededCmek('prod-east')!;
    info.status = 'ROTATING';
    info.region_infos![1]!.status = 'ROTATING';
    expect(summarizeCmek(seededCluster('prod-east'), info, NOW).next_step).toMatch(/in progress/);
  });
});
