/**
 * The HTML audit report, from report files the real audit tool wrote on the sandbox (seeded
 * clusters; about 40; 300 generated clusters; long, wide and hostile names; a cluster that
 * cannot be read):
 * - parity: everything the Markdown report says is in the HTML (html-parity.ts);
 * - layout, in headless Chromium (Debian's chromium driven by playwright-core): at 1280 px, at
 *   400 px and printed, nothing is wider than the page, timeline labels neither overlap nor leave
 *   their box, bars and ticks are not cut by their SVG. Screenshots are kept in a temporary folder
 *   (its path is printed). Skipped only when no Chromium binary is found.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/audit/render-html.js';
import { renderFull } from '../../src/audit/render-markdown.js';
import type { AuditReport } from '../../src/audit/types.js';
import { MAX_NAME } from '../../src/safety/untrusted.js';
import { byTag, findAll, parseHtml, textOf } from '../helpers/html-dom.js';
import { tempDir } from '../helpers/harness.js';
import { missingFromHtml } from './html-parity.js';
import { FLEET_SIZE, HOSTILE_NAMES, writeSandboxReports, type SandboxReport } from './sandbox-reports.js';

const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(
  (path): path is string => Boolean(path),
);
const CHROMIUM = CHROMIUM_CANDIDATES.find((path) => existsSync(path));
/** Flags for a root user on a machine without outside network (no sandbox, no background connections). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LAYOUT_PROBLEMS = `(${readFileSync(join(import.meta.dirname, 'report-layout.browser.js'), 'utf8')
  .trim()
  .replace(/;$/, '')})()`;

interface Layout {
  problems: string[];
  measured: { width: number; rowLabels: number; shapes: number; axisLabels: string[] };
}

let reports: SandboxReport[] = [];
const variant = (name: string) => reports.find((report) => report.name === name)!;

beforeAll(async () => {
  reports = await writeSandboxReports();
}, 240_000);

describe('HTML report parity with the Markdown report', () => {
  it('every heading, table row, list item and line of the Markdown is in the HTML, for every fleet size', () => {
    expect(reports.map((report) => report.name)).toEqual(['seed', 'fleet-40', `fleet-${FLEET_SIZE}`]);
    for (const report of reports) expect(missingFromHtml(report.markdown, report.html), report.name).toEqual([]);
  });

  it('holds each section the report data calls for: inventory, self-hosted targets, all framework columns, every finding with its fix, errors', () => {
    for (const { name, html, report } of reports) {
      const page = parseHtml(html);
      const headings = findAll(page, byTag('h2')).map(textOf);
      expect(headings, name).toEqual(
        expect.arrayContaining(['Frameworks', `Findings (${report.findings.length})`, `Clusters (${report.clusters.length})`, 'Self-hosted SQL targets']),
      );
      const sections = findAll(page, byTag('section'));
      expect(
        sections.map((section) => section.attrs.find((attr) => attr.name === 'id')?.value),
        name,
      ).toEqual(report.findings.map((finding) => finding.id));
      for (const section of sections)
        expect(
          findAll(section, byTag('li')).map((item) => textOf(item).split(':')[0]),
          name,
        ).toEqual(['Where', 'Evidence', 'Controls', 'Fix']);
      const frameworkHeader = findAll(findAll(page, byTag('table'))[1]!, byTag('th')).map(textOf);
      expect(frameworkHeader).toEqual(['Framework', 'Control', 'Title', 'Status', 'Critical', 'High', 'Medium', 'Low', 'Info']);
      if (name !== 'seed') expect(headings, name).toContain('Could not audit');
    }
  });

  it('a fix with arguments shows the complete call', () => {
    const html = variant('seed').html;
    expect(html).toMatch(/<li><b>Fix:<\/b> <code>plan_certificate_rotation \{&quot;kind&quot;:&quot;node&quot;\}<\/code>: /);
  });

  it('hostile upstream names are escaped and capped, never markup', () => {
    const { html } = variant('fleet-40');
    expect(/<img|<b>&|onerror=alert\(1\)>/.test(html)).toBe(false);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(/[\u202a-\u202e\u2066-\u2069]/.test(html)).toBe(false);
    expect(html.includes('W'.repeat(MAX_NAME))).toBe(false);
    // The inventory has a name capped at MAX_NAME; a timeline row label cuts it shorter still.
    expect(html.includes(`<td data-label="Cluster">${'W'.repeat(MAX_NAME - 1)}…</td>`)).toBe(true);
    expect(html.includes(`<th scope="row">${'W'.repeat(59)}… `)).toBe(true);
    expect(Object.keys(HOSTILE_NAMES).length).toBeGreaterThan(4);
  });

  it('a partial report with errors is at parity too', () => {
    const report = variant('fleet-40').report as unknown as AuditReport;
    const partial: AuditReport = {
      ...report,
      complete: false,
      stopped: { reason: 'time_limit', message: 'Stopped at the time limit after 12 of 40 clusters' },
    };
    expect(missingFromHtml(renderFull(partial), renderHtml(partial))).toEqual([]);
    expect(renderHtml(partial)).toContain('<p class="partial"><b>PARTIAL: Stopped at the time limit after 12 of 40 clusters.</b>');
  });

  it('the parity check fails when the HTML leaves something out', () => {
    const { markdown, html } = variant('seed');
    const withoutInventory = html.replace(/<h2>Clusters[\s\S]*?<\/table>/, '');
    expect(missingFromHtml(markdown, withoutInventory)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^heading: Clusters \(7\)/), expect.stringMatching(/^table row: prod-east \| ADVANCED \| AWS/)]),
    );
    const withoutInfoColumn = html.replace(/<th scope="col">Info<\/th>/, '');
    expect(missingFromHtml(markdown, withoutInfoColumn)).toEqual([expect.stringMatching(/^table row: Framework \| Control/)]);
    const withoutFixArguments = html.replace('plan_certificate_rotation {&quot;kind&quot;:&quot;node&quot;}', 'plan_certificate_rotation');
    expect(missingFromHtml(markdown, withoutFixArguments)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^list item: Fix: `plan_certificate_rotation \{/)]),
    );
  });
});

describe.skipIf(!CHROMIUM)(
  `HTML report layout in headless Chromium${CHROMIUM ? ` (${CHROMIUM})` : ` (SKIPPED: no Chromium binary at ${CHROMIUM_CANDIDATES.join(', ')}; apt-get install -y chromium)`}`,
  () => {
    let browser: Browser;
    let page: Page;
    const shots = tempDir('crdb-report-screenshots-');

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM!, args: CHROMIUM_ARGS });
      page = await browser.newPage();
      process.stderr.write(`[html-report.test] screenshots in ${shots}\n`);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    async function layout(report: SandboxReport, width: number, media: 'screen' | 'print'): Promise<Layout> {
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ media });
      await page.goto(`file://${report.htmlPath}`);
      const tag = `${report.name}-${width}-${media}`;
      await page.screenshot({ path: join(shots, `${tag}-top.png`) });
      await page.locator('table.timeline').screenshot({ path: join(shots, `${tag}-timeline.png`) });
      return (await page.evaluate(LAYOUT_PROBLEMS)) as Layout;
    }

    // 1280: a typical laptop; 400: a phone; 718 printed: A4 portrait inside the default print margins.
    const WIDTHS = [
      { width: 1280, media: 'screen' },
      { width: 400, media: 'screen' },
      { width: 718, media: 'print' },
    ] as const;

    for (const { width, media } of WIDTHS) {
      it(`at ${width} px (${media}): nothing wider than the page, no label overlapping or leaving its box, no bar or tick cut`, {
        timeout: 120_000,
      }, async () => {
        for (const report of reports) {
          const { problems, measured } = await layout(report, width, media);
          expect(problems.slice(0, 10), `${report.name} at ${width} px ${media}`).toEqual([]);
          expect(measured.rowLabels, report.name).toBeGreaterThan(5);
          expect(measured.axisLabels, report.name).toContain('today');
          expect(measured.axisLabels.length, report.name).toBeGreaterThan(2);
        }
      });
    }

    it('the layout check finds overprinted axis labels, a label running into the plot and a table wider than the page', async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.emulateMedia({ media: 'screen' });
      await page.goto(`file://${variant('seed').htmlPath}`);
      await page.addStyleTag({
        content:
          '.axis span{left:50% !important} table.timeline tbody th{white-space:nowrap;overflow:visible} table.timeline col.label{width:5%} table.stack{width:2000px}',
      });
      const { problems } = (await page.evaluate(LAYOUT_PROBLEMS)) as Layout;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^axis labels .* overlap/),
          expect.stringMatching(/^row label \d+ (overflows|text|reaches)/),
          expect.stringMatching(/is wider than the page/),
        ]),
      );
    });
  },
);
