/**
 * The confirmation gate every destructive tool goes through (via `ctx.confirm`). One model for
 * both protocol eras: the gate seals the request (tool, canonical parameters, target state,
 * expiry, a single-use nonce; see sealed-state.ts), a human answers a form, and the answer is
 * settled against the sealed state, which is then spent.
 *
 * 1. The client supports form elicitation. The form names the exact target, the action, each
 *    consequence and the reversibility; the human must type the target name and choose
 *    "approve". Only action "accept" + decision "approve" + the typed name equal to `targetName`
 *    proceeds. The typed name is compared exactly (case-sensitive, no Unicode normalisation)
 *    after removing surrounding whitespace only, which a form field may add.
 *    - legacy sessions: the form is pushed (`elicitation/create`) and awaited in this call;
 *    - 2026-07-28 calls: the form and its sealed `requestState` go back to the client
 *      (`input_required`); the retried call brings both back. A tampered, foreign, expired,
 *      replayed or stale state is refused.
 * 2. Otherwise, with --dangerously-allow-token-confirmation: a two-step flow where the sealed
 *    state is the confirmation token (5 minutes, single use).
 * 3. Otherwise: refused, with how to get a confirming client or the operator flag.
 * Approval says only that a human agreed; the tool then re-checks its preconditions against
 * fresh upstream state immediately before the destructive call.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import type { ElicitationAnswer, ElicitationFormSchema, ElicitationSession } from './elicitation-session.js';
import { SEALED_TTL_MS, openState, sealState, type SealedPurpose } from './sealed-state.js';
import { createFileTokenStore, createSqlTokenStore } from './token-store.js';
import type { Confirm, ConfirmationForm, ConfirmationRefusal, ConfirmationRequest, ConfirmationResult, TokenStore } from './types.js';

export { requireConfirmation } from './require-confirmation.js';

export interface ConfirmationGateOptions {
  config: Config;
  now: () => number;
  /** Spent-state bookkeeping; default: the --audit-db table when configured, else a file beside the audit log. */
  tokenStore?: TokenStore;
  /** How long the human has to answer a pushed form (default: the form state's 10 minutes). */
  elicitTimeoutMs?: number;
}

/** The file that records spent confirmations when no --audit-db is configured. */
export function spentConfirmationsPath(config: Config): string {
  return join(dirname(config.auditLog), 'confirmations-spent.json');
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

/** The whole form as the human sees it. */
function formFor(request: ConfirmationRequest): ConfirmationForm {
  return {
    message: `${describePlan(request)}\n\nTo proceed, type ${request.targetName} and choose "approve". Anything else changes nothing.`,
    requestedSchema: confirmationForm(request),
  };
}

function refusal(reason: ConfirmationRefusal, why: string, next: string): ConfirmationResult {
  return { approved: false, reason, message: `${why} ${NOTHING_CHANGED} Next: ${next}`, next };
}

/** Judges the human's answer to the form. */
function judgeAnswer(request: ConfirmationRequest, answer: ElicitationAnswer | undefined): ConfirmationResult {
  const what = `${request.tool} on ${request.targetDescription}`;
  if (answer === undefined) {
    return refusal(
      'error',
      `The call for ${what} came back without an answer to the confirmation form.`,
      `call ${request.tool} again to get a new form, and answer it.`,
    );
  }
  if (answer.action === 'decline') return refusal('declined', `You declined ${what}.`, `nothing to do; call the tool again if you change your mind.`);
  if (answer.action === 'cancel')
    return refusal('cancelled', `The confirmation for ${what} was cancelled.`, `call the tool again when you are ready to decide.`);
  if (answer.action !== 'accept') {
    return refusal('error', `The confirmation form for ${what} returned an unknown answer.`, `call the tool again to get a new form.`);
  }
  const content = answer.content ?? {};
  if (content.decision !== 'approve') return refusal('rejected', `You chose reject for ${what}.`, `nothing to do.`);
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

/** Builds the gate; call the result once per tool call (or per legacy session) with how it reaches its human. */
export function createConfirmationGate(options: ConfirmationGateOptions): (session: ElicitationSession) => Confirm {
  const { config, now } = options;
  const secret = config.confirmSecret ? Buffer.from(config.confirmSecret, 'utf8') : randomBytes(32);
  let tokenStore = options.tokenStore;
  const spent = () => (tokenStore ??= config.auditDb ? createSqlTokenStore(config.auditDb) : createFileTokenStore(spentConfirmationsPath(config)));
  const elicitTimeoutMs = options.elicitTimeoutMs ?? SEALED_TTL_MS.form;

  const binding = (request: ConfirmationRequest) => ({ tool: request.tool, params: request.params, targetState: request.targetState });

  /**
   * Verifies a sealed state brought back for `request`, spends it, and lets `decide` judge the
   * answer. Order: integrity, expiry, single use, then target state: a valid state is spent by
   * its first use whatever the answer, so no answer can be tried twice.
   */
  async function settle(request: ConfirmationRequest, purpose: SealedPurpose, sealed: string, decide: () => ConfirmationResult): Promise<ConfirmationResult> {
    const noun = purpose === 'token' ? 'confirmation token' : 'confirmation state (requestState)';
    const again =
      purpose === 'token'
        ? `call ${request.tool} again without confirmation_token to get a fresh plan and token`
        : `call ${request.tool} again without requestState to get a new form`;
    const claims = openState(secret, purpose, sealed, binding(request));
    if (!claims) {
      return refusal(
        'tampered',
        `The ${noun} is not valid for these parameters (altered, or issued for another call or by another server).`,
        `${again}; the parameters must then be repeated exactly.`,
      );
    }
    if (now() >= claims.expiresAt) {
      return refusal('expired', `The ${noun} expired at ${new Date(claims.expiresAt).toISOString()}.`, `${again}.`);
    }
    let fresh: boolean;
    try {
      fresh = await spent().consume(claims.nonce, claims.expiresAt, now());
    } catch (error) {
      const store = config.auditDb ? 'the --audit-db database' : spentConfirmationsPath(config);
      return refusal(
        'error',
        `Could not record the use of the ${noun}, so single use cannot be guaranteed (${errorMessage(error)}).`,
        `check ${store}, then ${again}.`,
      );
    }
    if (!fresh) {
      return refusal(
        'replayed',
        `This ${noun} was already used; each confirmation is single use.`,
        `check the target's current state, then ${again} if still needed.`,
      );
    }
    if (!claims.stateMatches) {
      return refusal(
        'stale_plan',
        `The target changed since this plan was made (stale plan), so it may no longer be what was approved.`,
        `${again} and review the new plan.`,
      );
    }
    return decide();
  }

  /** Legacy sessions: push the form, wait, and settle the answer like a retried call's. */
  async function askNow(session: ElicitationSession, request: ConfirmationRequest): Promise<ConfirmationResult> {
    const what = `${request.tool} on ${request.targetDescription}`;
    const { sealed } = sealState(secret, 'form', binding(request), now());
    const form = formFor(request);
    const timeout = AbortSignal.timeout(elicitTimeoutMs);
    let answer: ElicitationAnswer;
    try {
      answer = await session.elicit(form.message, form.requestedSchema, request.signal ? AbortSignal.any([request.signal, timeout]) : timeout);
    } catch (error) {
      const why = timeout.aborted ? `no answer within ${Math.round(elicitTimeoutMs / 1000)} s` : errorMessage(error);
      return refusal(
        'error',
        `The confirmation form for ${what} failed (${why}).`,
        `call the tool again to get a new form; if your client cannot show it, use another client.`,
      );
    }
    return settle(request, 'form', sealed, () => judgeAnswer(request, answer));
  }

  /** 2026-07-28 calls: return the form with its sealed state; the retried call settles it. */
  function returnForm(request: ConfirmationRequest): ConfirmationResult {
    const { sealed, expiresAt } = sealState(secret, 'form', binding(request), now());
    const next = `the client shows the confirmation form to the user and calls ${request.tool} again with the same arguments, the answer and this requestState (single use, expires ${new Date(expiresAt).toISOString()}).`;
    return {
      approved: false,
      reason: 'input_required',
      message: `Confirmation required:\n${describePlan(request)}\n\n${NOTHING_CHANGED} Next: ${next}`,
      next,
      form: formFor(request),
      requestState: sealed,
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  async function viaToken(request: ConfirmationRequest): Promise<ConfirmationResult> {
    if (request.token) return settle(request, 'token', request.token, () => ({ approved: true, via: 'token' }));
    const { sealed: token, expiresAt } = sealState(secret, 'token', binding(request), now());
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

  return (session) => async (request) => {
    const reply = session.roundTrip;
    if (reply?.requestState !== undefined) return settle(request, 'form', reply.requestState, () => judgeAnswer(request, reply.answer));
    if (session.supportsFormElicitation()) return reply ? returnForm(request) : askNow(session, request);
    if (config.dangerouslyAllowTokenConfirmation) return viaToken(request);
    return refusal(
      'unsupported',
      `${request.tool} on ${request.targetDescription} needs a human to confirm it, and this MCP client cannot show a confirmation form (no form elicitation support).`,
      `use a client that supports MCP form elicitation (for example VS Code 1.102 or later, or the Claude Code CLI 2.1.76 or later), or ask the operator to restart the server with --dangerously-allow-token-confirmation for a two-step plan-and-token confirmation.`,
    );
  };
}
