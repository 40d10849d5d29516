/** A parsed HTML document (parse5, the HTML standard's parser) and the few queries report tests need. */
import { parse, type DefaultTreeAdapterMap } from 'parse5';

type Node = DefaultTreeAdapterMap['node'];
export type Element = DefaultTreeAdapterMap['element'];

const isElement = (node: Node): node is Element => 'tagName' in node;

/** Parses a whole document. */
export function parseHtml(html: string): Element {
  const document = parse(html);
  return document.childNodes.find(isElement)!;
}

/** Every element under `root` (document order) that `test` accepts. */
export function findAll(root: Element, test: (element: Element) => boolean): Element[] {
  const found: Element[] = [];
  const visit = (node: Node) => {
    if (!isElement(node)) return;
    if (test(node)) found.push(node);
    const children = node.tagName === 'template' ? (node as DefaultTreeAdapterMap['template']).content.childNodes : node.childNodes;
    for (const child of children) visit(child as Node);
  };
  visit(root);
  return found;
}

export const byTag =
  (...tags: string[]) =>
  (element: Element) =>
    tags.includes(element.tagName);

export function attribute(element: Element, name: string): string | undefined {
  return element.attrs.find((attr) => attr.name === name)?.value;
}

const BREAK = '\u0000';

/** The element's text with <br> as BREAK and whitespace collapsed (as a reader sees it, ignoring CSS). */
function collect(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterMap['textNode']).value.replace(/\s+/g, ' ');
  if (!isElement(node)) return '';
  if (node.tagName === 'br') return BREAK;
  return node.childNodes.map((child) => collect(child as Node)).join('');
}

/** The element's lines: its text split at <br>, whitespace collapsed. */
export function linesOf(element: Element): string[] {
  return collect(element)
    .split(BREAK)
    .map((line) => line.replace(/ {2,}/g, ' ').trim())
    .filter(Boolean);
}

/** What the element says, whitespace collapsed. */
export function textOf(element: Element): string {
  return linesOf(element).join(' ');
}
