/**
 * ISO 8601 date durations as Azure Key Vault rotation policies use them (P90D, P1Y, P3M, P2W).
 * Years count as 365 days and months as 30, the way Key Vault documents its minimums.
 */
const DATE_DURATION = /^P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,5})W)?(?:(\d{1,6})D)?$/;

/** Whole days in a date-only ISO 8601 duration, or undefined when it is not one. */
export function isoDurationDays(duration: string): number | undefined {
  const match = DATE_DURATION.exec(duration);
  if (!match || duration === 'P') return undefined;
  const [, years, months, weeks, days] = match;
  return Number(years ?? 0) * 365 + Number(months ?? 0) * 30 + Number(weeks ?? 0) * 7 + Number(days ?? 0);
}
