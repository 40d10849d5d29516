import type { ElicitationFormSchema } from './elicitation-session.js';

/**
 * Contracts of the safety layer: confirmation for destructive tools, the audit log and secret
 * redaction. Implementations live beside this file; tools/tool-call.ts is their only MCP-facing user.
 */

/** What a destructive tool asks a human to confirm. */
export interface ConfirmationRequest {
  tool: string;
  /** The exact name the human must type back (cluster name, key id). */
  targetName: string;
  /** Names the target unambiguously, e.g. "cluster prod-east (3b1f...)". */
  targetDescription: string;
  /** One sentence: what will happen. */
  action: string;
  consequences: string[];
  /** Irreversible? Recoverable until when, and how? */
  reversibility: string;
  /** Canonical tool parameters (without any confirmation token). */
  params: Record<string, unknown>;
  /** The target's current state; a token issued for another state is stale. */
  targetState: unknown;
  /** Token from an earlier call, in the two-step flow. */
  token?: string;
  /** Aborts a pending elicitation (tool-call.ts passes the tool call's signal when absent). */
  signal?: AbortSignal;
}

export type ConfirmationRefusal =
  | 'declined'
  | 'cancelled'
  | 'rejected'
  | 'name_mismatch'
  | 'unsupported'
  | 'error'
  /** The form went back to the client (2026-07-28 input_required); its answer comes with the retried call. */
  | 'input_required'
  | 'token_issued'
  /** The sealed state or token was altered, or sealed for another call, tool or server secret. */
  | 'tampered'
  | 'expired'
  | 'replayed'
  | 'stale_plan';

/** A form the human must answer: the text and its flat schema. */
export interface ConfirmationForm {
  message: string;
  requestedSchema: ElicitationFormSchema;
}

export type ConfirmationResult =
  | { approved: true; via: 'elicitation' | 'token' }
  | {
      approved: false;
      reason: ConfirmationRefusal;
      /** For the human and the agent: what happened, that nothing changed, and the next step. */
      message: string;
      /** The next step alone (also the end of `message`). */
      next?: string;
      token?: string;
      expiresAt?: string;
      /** With 'input_required': the form to return, and the sealed state the retried call must carry. */
      form?: ConfirmationForm;
      requestState?: string;
    };

/** What the gate concluded for one call; written to the audit entry of its outcome. */
export type ConfirmationVerdict = 'approved' | ConfirmationRefusal;

/** Asks a human (elicitation) or checks a bound token. Bound to one tool call's client. */
export type Confirm = (request: ConfirmationRequest) => Promise<ConfirmationResult>;

export type AuditOutcome = 'attempted' | 'refused' | 'declined' | 'failed' | 'succeeded' | 'dry_run';

/** One audit entry before hashing. */
export interface AuditEvent {
  time: string;
  tool: string;
  target: string;
  /** Parameters with secrets redacted. */
  params: Record<string, unknown>;
  outcome: AuditOutcome;
  detail?: string;
  /** Upstream request ids (Cloud API, KMS) when known. */
  requestIds?: string[];
  /** Correlates the "attempted" entry with its outcome. */
  attemptId: string;
  /** For gated tools: what the confirmation gate concluded (approved, declined, replayed, ...). */
  confirmation?: ConfirmationVerdict;
}

/** An event as stored: numbered and chained to its predecessor. */
export interface AuditEntry extends AuditEvent {
  /** 1-based position in the log. */
  seq: number;
  /** `hash` of the previous entry; 64 zeros for the first. */
  prevHash: string;
  /** SHA-256 (hex) of the canonical JSON of this entry without `hash`. */
  hash: string;
}

/** Result of checking the hash chain. */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** 1-based index of the first entry that fails, when not ok. */
  firstBadEntry?: number;
  problem?: string;
  /** Which store was checked, without credentials (e.g. `file:/path`, `postgres://host/db`). */
  store?: string;
}

/**
 * Append-only, hash-chained audit log. `append` rejects when the entry could not be stored
 * durably (or the log is found inconsistent); callers must then not perform the mutation.
 */
export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
  verify(): Promise<AuditVerification>;
  close(): Promise<void>;
}

/** Remembers which sealed confirmation states were spent (single use), possibly across processes. */
export interface TokenStore {
  /** Marks `nonce` spent; resolves false when it was spent before. Atomic across every user of the store. */
  consume(nonce: string, expiresAt: number, now: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Removes secrets from anything on its way out (results, logs, notifications, audit entries). */
export interface Redactor {
  /** Registers a secret value to be masked wherever it appears. */
  addSecret(value: string | undefined): void;
  redactText(text: string): string;
  redact<T>(value: T): T;
}
