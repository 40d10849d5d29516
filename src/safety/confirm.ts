/**
 * The confirmation gate every destructive tool goes through (via `ctx.confirm`).
 *
 * 1. The client supports form elicitation: the human sees a form naming the exact target, the
 *    action, each consequence and the reversibility, and must type the target name and choose
 *    "approve". Only action "accept" + decision "approve" + the typed name equal to
 *    `targetName` proceeds. The typed name is compared exactly (case-sensitive, no Unicode
 *    normalisation) after removing surrounding whitespace only, which a form field may add.
 * 2. Otherwise, with --dangerously-allow-token-confirmation: a two-step flow with a bound,
 *    single-use, 5-minute token (see token.ts).
 * 3. Otherwise: refused, with how to get a confirming client or the operator flag.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { ElicitationFormSchema, ElicitationSession } from './elicitation-session.js';
import { issueToken, readToken } from './token.js';
import { createMemoryTokenStore, createSqlTokenStore } from './token-store.js';
import type { Confirm, ConfirmationRefusal, ConfirmationRequest, ConfirmationResult, TokenStore } from './types.js';

export { requireConfirmation } from './require-confirmation.js';

export interface ConfirmationGateOptions {
  config: Config;
  now: () => number;
  /** Used-token bookkeeping; default: the --audit-db table when configured, else memory. */
  tokenStore?: TokenStore;
  /** How long the human has to answer the form (default 10 minutes). */
  elicitTimeoutMs?: number;
}

const NOTHING_CHANGED = 'Nothing was changed.';

/** Action, target, consequences and reversibility as plain text. */
export function describePlan(request: ConfirmationRequest): string {
  return [
    `Action: ${request.action}`,
    `Target: ${request.targetDescription}`,
    'Consequences:',
    ...request.consequences.map((line) => `- ${line}`),
    `Reversibility: ${request.reversibility}`,
  ].join('\n');
}

/** The form: the name typed back, and an explicit approve/reject choice with no default. */
export function confirmationForm(request: ConfirmationRequest): ElicitationFormSchema {
  return {
    type: 'object',
    properties: {
      confirm_name: {
        type: 'string',
        title: `Type ${request.targetName} to confirm`,
        description: `Exactly ${request.targetName} (case-sensitive).`,
      },
      decision: {
        type: 'string',
        title: 'Decision',
        description: `approve: ${request.action} reject: change nothing.`,
        enum: ['approve', 'reject'],
      },
    },
    required: ['confirm_name', 'decision'],
  };
}

function refusal(reason: ConfirmationRefusal, why: string, next: string): ConfirmationResult {
  return { approved: false, reason, message: `${why} ${NOTHING_CHANGED} Next: ${next}`, next };
}

/** Builds the gate; call the result once per MCP session. */
export function createConfirmationGate(options: ConfirmationGateOptions): (session: ElicitationSession) => Confirm {
  const { config, now } = options;
  const secret = config.confirmSecret ? Buffer.from(config.confirmSecret, 'utf8') : randomBytes(32);
  let tokenStore = options.tokenStore;
  const tokens = () => (tokenStore ??= config.auditDb ? createSqlTokenStore(config.auditDb) : createMemoryTokenStore());
  const elicitTimeoutMs = options.elicitTimeoutMs ?? 10 * 60_000;

  async function viaElicitation(session: ElicitationSession, request: ConfirmationRequest): Promise<ConfirmationResult> {
    const what = `${request.tool} on ${request.targetDescription}`;
    const message = `${describePlan(request)}\n\nTo proceed, type ${request.targetName} and choose "approve". Anything else changes nothing.`;
    const timeout = AbortSignal.timeout(elicitTimeoutMs);
    let answer;
    try {
      answer = await session.elicit(message, confirmationForm(request), request.signal ? AbortSignal.any([request.signal, timeout]) : timeout);
    } catch (error) {
      const why = timeout.aborted ? `no answer within ${Math.round(elicitTimeoutMs / 1000)} s` : error instanceof Error ? error.message : String(error);
      return refusal('error', `The confirmation form for ${what} failed (${why}).`, `call the tool again to get a new form; if your client cannot show it, use another client.`);
    }
    if (answer.action === 'decline') return refusal('declined', `You declined ${what}.`, `nothing to do; call the tool again if you change your mind.`);
    if (answer.action === 'cancel') return refusal('cancelled', `The confirmation for ${what} was cancelled.`, `call the tool again when you are ready to decide.`);
    if (answer.action !== 'accept') {
      return refusal('error', `The confirmation form for ${what} returned an unknown answer.`, `call the tool again to get a new form.`);
    }
    const content = answer.content ?? {};
    if (content.decision !== 'approve') {
      return refusal('rejected', `You chose reject for ${what}.`, `nothing to do.`);
    }
    const typed = typeof content.confirm_name === 'string' ? content.confirm_name.trim() : undefined;
    if (typed !== request.targetName) {
      return refusal(
        'name_mismatch',
        `The name typed did not match ${request.targetName} exactly, so ${what} did not run.`,
        `if you do intend it, call the tool again and type ${request.targetName} exactly (case-sensitive).`,
      );
    }
    return { approved: true, via: 'elicitation' };
  }

  async function viaToken(request: ConfirmationRequest): Promise<ConfirmationResult> {
    const binding = { tool: request.tool, params: request.params, targetState: request.targetState };
    const again = `call ${request.tool} again without confirmation_token to get a fresh plan and token`;
    if (!request.token) {
      const { token, expiresAt } = issueToken(secret, binding, now());
      const expires = new Date(expiresAt).toISOString();
      const next = `show this plan to the user and ask for an explicit yes; only if they approve, call ${request.tool} again with identical parameters plus confirmation_token: "${token}" (single use, expires ${expires}).`;
      return {
        approved: false,
        reason: 'token_issued',
        token,
        expiresAt: expires,
        message: `Plan (not executed):\n${describePlan(request)}\n\n${NOTHING_CHANGED} Next: ${next}`,
        next,
      };
    }
    const claims = readToken(secret, request.token, binding);
    if (!claims) {
      return refusal('token_invalid', `The confirmation token is not valid for these parameters (altered, or issued for another call).`, `${again}; the parameters must then be repeated exactly.`);
    }
    if (now() >= claims.expiresAt) {
      return refusal('token_expired', `The confirmation token expired at ${new Date(claims.expiresAt).toISOString()}.`, `${again}.`);
    }
    let fresh: boolean;
    try {
      fresh = await tokens().consume(claims.nonce, claims.expiresAt, now());
    } catch (error) {
      return refusal('error', `Could not record the token's use, so single use cannot be guaranteed (${error instanceof Error ? error.message : String(error)}).`, `check the --audit-db database, then ${again}.`);
    }
    if (!fresh) return refusal('token_replayed', `This confirmation token was already used; tokens are single use.`, `check the target's current state, then ${again} if still needed.`);
    if (!claims.stateMatches) {
      return refusal('stale_plan', `The target changed since this plan was made (stale plan), so it may no longer be what was approved.`, `${again} and review the new plan.`);
    }
    return { approved: true, via: 'token' };
  }

  return (session) => async (request) => {
    if (session.supportsFormElicitation()) return viaElicitation(session, request);
    if (config.dangerouslyAllowTokenConfirmation) return viaToken(request);
    return refusal(
      'unsupported',
      `${request.tool} on ${request.targetDescription} needs a human to confirm it, and this MCP client cannot show a confirmation form (no form elicitation support).`,
      `use a client that supports MCP form elicitation (for example VS Code 1.102 or later, or the Claude Code CLI 2.1.76 or later), or ask the operator to restart the server with --dangerously-allow-token-confirmation for a two-step plan-and-token confirmation.`,
    );
  };
}
