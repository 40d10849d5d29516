import { describe, expect, it } from 'vitest';
import { refuseWhileOperationRuns, regionOutcomes } from '../../src/cmek/operation.js';
import { OperatorError } from '../../src/errors.js';
import { seededCluster, seededCmek } from './fixtures.js';

describe('refuseWhileOperationRuns', () => {
  it('refuses while another operation runs, and lets failed or idle clusters through', () => {
    expect(() => refuseWhileOperationRuns(seededCluster('prod-east', { operation_status: 'CRDB_SCALE_RUNNING' }), 'rotate_cmek')).toThrow(OperatorError);
    expect(() => refuseWhileOperationRuns(seededCluster('reports-aws'), 'rotate_cmek')).not.toThrow();
    expect(() => refuseWhileOperationRuns(seededCluster('prod-east'), 'rotate_cmek')).not.toThrow();
  });
});

describe('regionOutcomes', () => {
  it('gives status, current key and the failure message per region', () => {
    expect(regionOutcomes(seededCmek('reports-aws'), ['eu-west-1', 'eu-west-2'])).toEqual([
      {
        region: 'eu-west-1',
        status: 'ROTATE_FAILED',
        key_uri: expect.stringContaining('key/1a2b3c4d-0006'),
        user_message: expect.stringMatching(/is disabled/),
      },
      { region: 'eu-west-2', status: 'NOT_ENABLED' },
    ]);
  });
});
