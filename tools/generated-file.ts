/** The write-or-check step every generator shares (`--check` in npm test fails on a stale file). */
import { writeFileSync } from 'node:fs';

/**
 * With `--check` on the command line, exits 1 when `current` differs from `next` (what the
 * generator would write); otherwise writes `next` to `path` when it changed. `name` is the file
 * as the messages show it.
 */
export function writeOrCheck(path: string, name: string, current: string, next: string, why: string): void {
  const generator = process.argv[1]?.split('/').pop()?.replace(/\.ts$/, '') ?? 'generator';
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write(`${name} is stale: ${why}. Run \`npm run generate\` and commit the result.\n`);
      process.exit(1);
    }
    process.stdout.write(`${generator}: ${name} is up to date\n`);
    return;
  }
  if (next !== current) writeFileSync(path, next);
  process.stdout.write(`${generator}: ${name} ${next === current ? 'already up to date' : 'updated'}\n`);
}
