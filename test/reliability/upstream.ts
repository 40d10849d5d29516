/** Counting what reached the sandbox emulators, and reading the audit log, for the reliability suite. */
import { expect } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { AuditEntry } from '../../src/safety/types.js';
import { auditEntries, type TestServer } from '../helpers/harness.js';

/** Every request any emulator received (Cloud API, AWS, GCP, Azure, SQL statements). */
export function upstreamCalls(sandbox: Sandbox): number {
  return (
    sandbox.cloud.log.entries.length +
    sandbox.aws.log.entries.length +
    sandbox.gcp.log.entries.length +
    sandbox.azure.log.entries.length +
    sandbox.sql.statements.entries.length
  );
}

const AWS_MUTATIONS = /^(Create|Schedule|Cancel|Disable|Enable|Put|Rotate|Update|Delete|Tag|Untag|Replicate|Import)/;
const GCP_MUTATIONS = /^(Create|Update|Destroy|Restore|SetIamPolicy)/;

/** Requests that could change something upstream, whatever their answer. */
export function mutatingCalls(sandbox: Sandbox): number {
  return (
    sandbox.cloud.log.entries.filter((entry) => entry.method !== 'GET').length +
    sandbox.aws.log.entries.filter((entry) => AWS_MUTATIONS.test(entry.operation)).length +
    sandbox.gcp.log.entries.filter((entry) => GCP_MUTATIONS.test(entry.operation)).length +
    sandbox.azure.log.entries.filter((entry) => entry.method !== 'GET').length
  );
}

/** Requests at the Cloud API emulator by method, whatever their answer (POST/PUT/PATCH /cmek are the CMEK mutations). */
export function cloudRequests(sandbox: Sandbox, method: string): number {
  return sandbox.cloud.log.entries.filter((entry) => entry.method === method).length;
}

/** AWS KMS calls by operation that the emulator answered 200 (i.e. applied). */
export function awsApplied(sandbox: Sandbox, operation: string): number {
  return sandbox.aws.log.entries.filter((entry) => entry.operation === operation && entry.status === 200).length;
}

/**
 * Nothing lost from the audit log: every attempt has exactly one outcome entry (and every outcome
 * an attempt), the chain verifies, and `tool` was attempted `attempts` times.
 */
export async function expectCompleteAudit(server: TestServer, tool: string, attempts: number): Promise<AuditEntry[]> {
  const entries = auditEntries(server.config.auditLog).filter((entry) => entry.tool === tool);
  const attempted = entries.filter((entry) => entry.outcome === 'attempted');
  const outcomes = entries.filter((entry) => entry.outcome !== 'attempted');
  expect(attempted, `${tool} attempts in the audit log`).toHaveLength(attempts);
  expect(outcomes.map((entry) => entry.attemptId).sort()).toEqual(attempted.map((entry) => entry.attemptId).sort());
  expect(await server.deps.audit.verify()).toMatchObject({ ok: true });
  return outcomes;
}
