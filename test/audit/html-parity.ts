/**
 * What the Markdown report says that the HTML report does not: the Markdown is rendered by a
 * GFM parser (marked) and both documents are parsed by the HTML standard's parser (parse5), then
 * every heading, table row (cell by cell), list item and paragraph line of the Markdown must be in
 * the HTML with the same text. Backticks are ignored: the Markdown shows a fix's call as literal
 * `code` (escaped, since it quotes upstream values), the HTML sets it in <code>.
 */
import { marked } from 'marked';
import { attribute, byTag, findAll, linesOf, parseHtml, textOf, type Element } from '../helpers/html-dom.js';

const normal = (text: string) => text.replace(/`/g, '').replace(/\s+/g, ' ').trim();
const cells = (row: Element) => findAll(row, byTag('th', 'td')).map((cell) => normal(textOf(cell)));
const FINDING_HEADING = /^(F-[0-9a-f]+) \[(\w+)\] (.*)$/;

/** Each piece of the Markdown report missing from the HTML report, described; empty when at parity. */
export function missingFromHtml(markdown: string, html: string): string[] {
  const expected = parseHtml(marked.parse(markdown, { gfm: true, async: false }));
  const actual = parseHtml(html);
  const missing: string[] = [];
  const texts = (tags: string[]) => new Set(findAll(actual, byTag(...tags)).map((element) => normal(textOf(element))));
  const lines = new Set(findAll(actual, byTag('p', 'blockquote', 'li', 'h1', 'h2', 'h3', 'td')).flatMap((element) => linesOf(element).map(normal)));
  const headings = texts(['h1', 'h2']);
  const items = texts(['li']);
  const timeline = new Set(findAll(actual, (element) => element.tagName === 'table' && attribute(element, 'class') === 'timeline'));
  const rows = new Set(
    findAll(actual, byTag('table'))
      .filter((table) => !timeline.has(table))
      .flatMap((table) => findAll(table, byTag('tr')).map((row) => JSON.stringify(cells(row)))),
  );
  const sections = new Map(
    findAll(actual, (element) => element.tagName === 'section' && Boolean(attribute(element, 'id'))).map((section) => [attribute(section, 'id')!, section]),
  );

  for (const heading of findAll(expected, byTag('h1', 'h2'))) {
    if (!headings.has(normal(textOf(heading)))) missing.push(`heading: ${textOf(heading)}`);
  }
  for (const heading of findAll(expected, byTag('h3'))) {
    const [, id, severity, title] = FINDING_HEADING.exec(normal(textOf(heading))) ?? [];
    const section = id ? sections.get(id) : undefined;
    const h3 = section ? findAll(section, byTag('h3'))[0] : undefined;
    if (!h3 || normal(textOf(h3)) !== `${id} ${severity} ${title}`) missing.push(`finding: ${textOf(heading)}`);
  }
  for (const row of findAll(expected, byTag('tr'))) {
    if (!rows.has(JSON.stringify(cells(row)))) missing.push(`table row: ${cells(row).join(' | ')}`);
  }
  for (const item of findAll(expected, byTag('li'))) {
    if (!items.has(normal(textOf(item)))) missing.push(`list item: ${textOf(item)}`);
  }
  for (const paragraph of findAll(expected, byTag('p'))) {
    for (const line of linesOf(paragraph).map(normal)) if (!lines.has(line)) missing.push(`line: ${line}`);
  }
  return missing;
}
