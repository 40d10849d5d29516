/**
 * Validates every agent skill under skills/ (or the folder given as the first argument):
 * frontmatter schema, name == folder, required sections, relative links, references linked.
 * Exits 1 with one line per problem (file, field, message); run by `npm test`.
 */
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateSkills } from '../src/skills/validate.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = resolve(process.argv[2] ?? resolve(root, 'skills'));
const problems = await validateSkills(dir);
const show = (path: string) => relative(process.cwd(), path) || path;

if (problems.length) {
  for (const problem of problems) {
    const message = problem.message.replace(problem.file, show(problem.file)).replace(`${show(problem.file)}: `, '');
    process.stderr.write(`${show(problem.file)}${problem.field ? ` [${problem.field}]` : ''}: ${message}\n`);
  }
  process.stderr.write(`validate-skills: ${problems.length} problem(s) in ${show(dir)}\n`);
  process.exit(1);
}
process.stdout.write(`validate-skills: every skill in ${show(dir)} is valid\n`);
