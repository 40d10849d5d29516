/** Pieces shared by the CMEK tools: input fields, output shapes, and the bridge to the domain env. */
import { z } from 'zod';
import { CMEK_STATUSES } from '../cloud/constants.js';
import type { Check, CmekEnv } from '../cmek/context.js';
import type { ToolContext } from './define-tool.js';

/*
 * Schema pieces are functions: nothing is built at start-up (tools/list is served from
 * listing.json); a tool builds its full schemas on first call.
 */

/** A cluster name or id: letters, digits and hyphens. */
export const clusterInput = () =>
  z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'expected a cluster name or id (letters, digits, hyphens)')
    .describe('Cluster name or id');

/** A cloud region name such as us-east-1, europe-west1, eastus. */
export const regionName = () =>
  z
    .string()
    .min(2)
    .max(40)
    .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, 'expected a region name like us-east-1');
export const regionInput = () => regionName().describe('Cluster region');

export const keyUriInput = () => z.string().min(1).max(512).describe('AWS key ARN, GCP key name (no version) or Azure key id (with version)');
export const principalInput = () => z.string().min(1).max(512).describe('AWS role ARN, GCP service account or Azure tenant id');
export const waitInput = () => z.boolean().default(true).describe('Wait until done');
export const dryRunInput = () => z.boolean().default(false).describe('Show the request; send nothing');

/*
 * Output shapes, enforced in full on every call by tool-call.ts (tools/list shows them as plain objects).
 */

export const cmekStatusOutput = () => z.enum([...CMEK_STATUSES, 'NOT_ENABLED']);

export const checkOutput = () =>
  z.object({
    check: z.string(),
    result: z.enum(['pass', 'fail', 'warn', 'unknown']),
    detail: z.string(),
    region: z.string().optional(),
  });

export const clusterRefOutput = () => z.object({ id: z.string(), name: z.string() });

/** Per-region results after a CMEK operation. */
export const regionsOutput = () =>
  z.array(z.object({ region: z.string(), status: cmekStatusOutput(), key_uri: z.string().optional(), user_message: z.string().optional() }));

/** The Cloud API request sent (or, for dry_run, that would be sent). */
export const requestOutput = () => z.object({ method: z.enum(['POST', 'PUT', 'PATCH']), path: z.string(), body: z.record(z.string(), z.unknown()) });

/**
 * Progress values must strictly increase (MCP spec), but polling repeats the same "regions done"
 * count: the n-th repeat adds 1 - 1/(n+1), which grows yet never reaches the next whole number.
 */
export function increasingProgress(send: ToolContext['progress']): CmekEnv['progress'] {
  let base = Number.NEGATIVE_INFINITY;
  let repeats = 0;
  return (done, total, message) => {
    if (done > base) {
      base = done;
      repeats = 0;
    } else {
      repeats += 1;
    }
    return send(base + (repeats === 0 ? 0 : 1 - 1 / (repeats + 1)), total, message);
  };
}

/** The domain's view of a tool call: Cloud API, KMS, clock, cancellation, progress, request ids. */
export function cmekEnv(ctx: ToolContext): CmekEnv {
  return {
    cloud: ctx.deps.cloud(),
    kms: ctx.deps.kms,
    mutations: ctx.deps.clusterMutations,
    now: () => ctx.deps.clock.now(),
    signal: ctx.signal,
    onRequestId: (id) => ctx.noteRequestId(id),
    progress: increasingProgress((done, total, message) => ctx.progress(done, total, message)),
  };
}

/** Warnings and failures as bullet lines (passes are left to structured output). */
export function renderChecks(checks: readonly Check[]): string {
  const notable = checks.filter((check) => check.result !== 'pass');
  return notable.map((check) => `- [${check.result}] ${check.region ? `${check.region}: ` : ''}${check.detail}`).join('\n');
}

/** Joins non-empty text blocks with blank lines. */
export function joinText(...blocks: Array<string | undefined>): string {
  return blocks.filter((block) => block && block.length > 0).join('\n');
}
