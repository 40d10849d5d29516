/**
 * The closed vocabularies of the prompt arguments, their lenient parsing (case, spaces and
 * hyphens don't matter; a short word such as "rotation" names the one value containing it) and
 * completion by substring and keyword. No MCP types here.
 */

export const TIERS = ['Self-Hosted', 'Advanced', 'BYOC', 'Standard', 'Basic'] as const;
export type Tier = (typeof TIERS)[number];

export const REASONS = ['Routine monitoring', 'Scheduled rotation', 'Key compromise', 'Compliance audit', 'Add SAN entries'] as const;
export type Reason = (typeof REASONS)[number];

/**
 * Words an operator may use for a reason besides the words of its name; completion offers the
 * reason for them (never parsing: a value is accepted only by its own name, see parseChoice).
 */
export const REASON_KEYWORDS: Readonly<Record<Reason, readonly string[]>> = {
  'Routine monitoring': ['health check', 'status', 'expiry'],
  'Scheduled rotation': ['rotate', 'renew'],
  'Key compromise': ['incident', 'leak', 'breach', 'emergency rotation'],
  'Compliance audit': ['SOC2', 'HIPAA', 'PCI DSS', 'posture'],
  'Add SAN entries': ['hostname', 'TLS', 'load balancer', 'certificate'],
};

export const PROVIDERS = ['AWS', 'GCP', 'Azure'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const FRAMEWORKS = ['SOC2', 'HIPAA', 'PCI_DSS'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const ROTATION_MODES = ['new_version', 'new_key'] as const;
export type RotationMode = (typeof ROTATION_MODES)[number];

/** A prompt argument outside its vocabulary; the message lists the valid values. */
export class PromptArgumentError extends Error {
  override name = 'PromptArgumentError';
}

function squash(value: string): string {
  return value.toLowerCase().replace(/[\s_-]+/g, '');
}

/** True when the argument was not given (absent or only whitespace). */
export function isMissing(value: string | undefined): value is undefined {
  return value === undefined || value.trim() === '';
}

/**
 * Maps a user-typed value onto its vocabulary: the value itself ("self hosted" -> "Self-Hosted"),
 * or a word of exactly one value ("rotation" -> "Scheduled rotation", "compromise" -> "Key
 * compromise"). Returns undefined when absent; collects a problem (naming the argument and every
 * valid value) when unknown or ambiguous.
 */
export function parseChoice<T extends string>(argument: string, value: string | undefined, values: readonly T[], problems: string[]): T | undefined {
  if (isMissing(value)) return undefined;
  const typed = squash(value);
  const exact = values.find((candidate) => squash(candidate) === typed);
  if (exact) return exact;
  const containing = typed.length >= 3 ? values.filter((candidate) => squash(candidate).includes(typed)) : [];
  if (containing.length === 1) return containing[0];
  const several = containing.length > 1 ? ` (it is part of ${containing.join(' and ')}: name one)` : '';
  problems.push(`${argument} '${value.trim()}' is not one of: ${values.join(', ')}${several}`);
  return undefined;
}

/** Parses a comma-separated list of frameworks; unknown entries are collected as problems. */
export function parseFrameworks(value: string | undefined, problems: string[]): Framework[] {
  if (isMissing(value)) return [];
  const found: Framework[] = [];
  for (const part of value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const framework = parseChoice('framework', part, FRAMEWORKS, problems);
    if (framework && !found.includes(framework)) found.push(framework);
  }
  return found;
}

/** Throws one PromptArgumentError carrying every collected problem. */
export function throwIfProblems(problems: string[]): void {
  if (problems.length) throw new PromptArgumentError(`${problems.join('; ')}.`);
}

/**
 * Values matching what was typed, ignoring case, spaces and hyphens: those starting with it first,
 * then those containing it, then those with a keyword containing it, each group in vocabulary order.
 */
export function completeFrom(values: readonly string[], typed: string | undefined, keywords: Readonly<Record<string, readonly string[]>> = {}): string[] {
  const wanted = squash(typed ?? '');
  const starting = values.filter((value) => squash(value).startsWith(wanted));
  const containing = values.filter((value) => !starting.includes(value) && squash(value).includes(wanted));
  const byKeyword = values.filter(
    (value) => !starting.includes(value) && !containing.includes(value) && (keywords[value] ?? []).some((word) => squash(word).includes(wanted)),
  );
  return [...starting, ...containing, ...byKeyword];
}

/** Completes the last entry of a comma-separated list, keeping the entries before it. */
export function completeList(values: readonly string[], typed: string | undefined): string[] {
  const parts = (typed ?? '').split(',');
  const last = parts.pop() ?? '';
  const chosen = parts.map((part) => part.trim()).filter(Boolean);
  const head = chosen.length ? `${chosen.join(',')},` : '';
  return completeFrom(values, last)
    .filter((value) => !chosen.some((item) => squash(item) === squash(value)))
    .map((value) => `${head}${value}`);
}
