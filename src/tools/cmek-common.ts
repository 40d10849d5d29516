/** Pieces shared by the CMEK tools: input fields, output shapes, and the bridge to the domain env. */
import { z } from 'zod';
import type { Check, CmekEnv } from '../cmek/context.js';
import type { ToolContext } from './define-tool.js';

/** A cluster name or id: letters, digits and hyphens. */
export const clusterInput = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'expected a cluster name or id (letters, digits, hyphens)')
  .describe('Cluster name or id');

/** A cloud region name such as us-east-1, europe-west1, eastus. */
export const regionName = z
  .string()
  .min(2)
  .max(40)
  .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, 'expected a region name like us-east-1');
export const regionInput = regionName.describe('Cluster region');

export const keyUriInput = z.string().min(1).max(512).describe('Key URI: AWS ARN; GCP name without version; Azure id with version');
export const principalInput = z.string().min(1).max(512).describe('AWS role ARN, GCP service account email or Azure tenant id');
export const waitInput = z.boolean().default(true).describe('Wait until done (default true)');
export const dryRunInput = z.boolean().default(false).describe('Validate and show the exact request; send nothing');

/*
 * Output shapes name every field a client needs; nested items are loose objects that declare their
 * key fields only (the rest passes through), which keeps tools/list small.
 */

/** A CMEKStatus, or NOT_ENABLED. */
export const cmekStatusOutput = z.string();

export const checkOutput = z.looseObject({ check: z.string(), result: z.enum(['pass', 'fail', 'warn', 'unknown']), detail: z.string() });

export const clusterRefOutput = z.object({ id: z.string(), name: z.string() });

export const regionOutcomeOutput = z.looseObject({ region: z.string(), status: z.string() });

export const requestOutput = z.object({ method: z.string(), path: z.string(), body: z.unknown() });

/** The domain's view of a tool call: Cloud API, KMS, clock, cancellation, progress, request ids. */
export function cmekEnv(ctx: ToolContext): CmekEnv {
  return {
    cloud: ctx.deps.cloud(),
    kms: ctx.deps.kms,
    now: () => ctx.deps.clock.now(),
    signal: ctx.signal,
    onRequestId: (id) => ctx.noteRequestId(id),
    progress: (done, total, message) => ctx.progress(done, total, message),
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
