/**
 * The closed vocabularies of the prompt arguments, their lenient parsing (case, spaces and
 * hyphens don't matter) and prefix completion. No MCP types here.
 */

export const TIERS = ['Self-Hosted', 'Advanced', 'BYOC', 'Standard', 'Basic'] as const;
export type Tier = (typeof TIERS)[number];

export const REASONS = ['Routine monitoring', 'Scheduled rotation', 'Key compromise', 'Compliance audit', 'Add SAN entries'] as const;
export type Reason = (typeof REASONS)[number];

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
 * Maps a user-typed value onto its vocabulary ("self hosted" -> "Self-Hosted"). Returns undefined
 * when absent; collects a problem (naming the argument and every valid value) when unknown.
 */
export function parseChoice<T extends string>(argument: string, value: string | undefined, values: readonly T[], problems: string[]): T | undefined {
  if (isMissing(value)) return undefined;
  const match = values.find((candidate) => squash(candidate) === squash(value));
  if (!match) problems.push(`${argument} '${value.trim()}' is not one of: ${values.join(', ')}`);
  return match;
}

/** Parses a comma-separated list of frameworks; unknown entries are collected as problems. */
export function parseFrameworks(value: string | undefined, problems: string[]): Framework[] {
  if (isMissing(value)) return [];
  const found: Framework[] = [];
  for (const part of value.split(',').map((item) => item.trim()).filter(Boolean)) {
    const framework = parseChoice('framework', part, FRAMEWORKS, problems);
    if (framework && !found.includes(framework)) found.push(framework);
  }
  return found;
}

/** Throws one PromptArgumentError carrying every collected problem. */
export function throwIfProblems(problems: string[]): void {
  if (problems.length) throw new PromptArgumentError(`${problems.join('; ')}.`);
}

/** Values starting with what was typed, ignoring case, spaces and hyphens. */
export function completeFrom(values: readonly string[], typed: string | undefined): string[] {
  const prefix = squash(typed ?? '');
  return values.filter((value) => squash(value).startsWith(prefix));
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
