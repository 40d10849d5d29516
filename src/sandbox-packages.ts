/**
 * The sandbox's own packages are optionalDependencies: a production install may leave them out
 * (`npm install --omit=optional`), so the server checks for them before starting `--sandbox`
 * instead of failing on the first tool call.
 */

/** Packages only the embedded sandbox imports (PGlite and the emulators' certificate helpers). */
export const SANDBOX_PACKAGES = ['@electric-sql/pglite', '@electric-sql/pglite-socket', '@peculiar/x509', 'reflect-metadata'] as const;

/** The sandbox packages that cannot be resolved from this installation. */
export function missingSandboxPackages(resolve: (specifier: string) => string = (specifier) => import.meta.resolve(specifier)): string[] {
  return SANDBOX_PACKAGES.filter((name) => {
    try {
      resolve(name);
      return false;
    } catch {
      return true;
    }
  });
}

/** What to tell an operator who started --sandbox without them. */
export function missingSandboxMessage(missing: readonly string[]): string {
  return (
    `--sandbox needs the optional package${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, not installed here ` +
    '(an install with --omit=optional leaves them out). Install them with the server: `npm install crdb-encryption-mcp` ' +
    '(or `npx -y crdb-encryption-mcp --sandbox`) without --omit=optional. Without --sandbox the server does not need them.'
  );
}
