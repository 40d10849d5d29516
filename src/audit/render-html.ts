/**
 * The HTML report: one self-contained page (inline CSS and SVG, no scripts, fonts or links out)
 * that says everything the Markdown report says, from the same content (report-content.ts), plus
 * a timeline of key ages and certificate expiries. Every upstream string is made one capped line
 * and escaped. Tables and text wrap to the page from 360 px wide up, and it prints.
 */
import { MAX_MESSAGE, escapeHtml, untrusted } from '../safety/untrusted.js';
import {
  DISCLAIMER,
  REPORT_TITLE,
  clusterTable,
  controlsText,
  fixCall,
  frameworkTable,
  summaryLines,
  targetLine,
  where,
  type Table,
} from './report-content.js';
import { nextStep } from './render-markdown.js';
import { LEVEL_COLORS, TIMELINE_STYLE, renderTimeline } from './render-timeline.js';
import type { AuditReport, Finding } from './types.js';

const STYLE = `*{box-sizing:border-box}body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#212121;overflow-wrap:anywhere}
h1{font-size:24px}h2{margin-top:28px}table{border-collapse:collapse;margin:8px 0 20px;width:100%}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}thead th{background:#f5f5f5;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px}.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;white-space:nowrap;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.partial{background:#fff3e0;border:1px solid #ef6c00;padding:8px}.summary p{margin:2px 0}blockquote{margin:12px 0;color:#555;font-style:italic}
.finding h3{font-size:15px;margin:16px 0 4px}.finding ul{margin:0;padding-left:20px}
@media (max-width:600px){body{margin:12px;font-size:13px}table.stack thead{display:none}table.stack tr{display:block;border:1px solid #ddd;margin-bottom:6px}
table.stack td{display:block;border:0;padding:2px 6px;text-align:left}table.stack td::before{content:attr(data-label) ": ";font-weight:600}}
@media print{body{margin:0}.finding,tr{break-inside:avoid}h2,h3{break-after:avoid}}
${TIMELINE_STYLE}`;

/** Upstream text as HTML: one capped line, escaped (the same cap as the Markdown report). */
function text(value: string): string {
  return escapeHtml(untrusted(value, MAX_MESSAGE));
}

/** A table; columns named in `numeric` are right-aligned. On a narrow page each row becomes a block of labelled lines. */
function htmlTable(table: Table, numeric: ReadonlySet<string> = new Set()): string {
  const head = table.columns.map((column) => `<th scope="col">${escapeHtml(column)}</th>`).join('');
  const cellHtml = (cell: string, index: number) =>
    `<td data-label="${escapeHtml(table.columns[index]!)}"${numeric.has(table.columns[index]!) ? ' class="n"' : ''}>${text(cell)}</td>`;
  const rows = table.rows.map((row) => `<tr>${row.map(cellHtml).join('')}</tr>`);
  return `<table class="stack"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function severityBadge(finding: Finding): string {
  return `<span class="sev" style="background:${LEVEL_COLORS[finding.severity]}">${finding.severity}</span>`;
}

function findingSection(finding: Finding): string {
  const call = fixCall(finding);
  return (
    `<section class="finding" id="${escapeHtml(finding.id)}"><h3>${escapeHtml(finding.id)} ${severityBadge(finding)} ${text(finding.title)}</h3><ul>` +
    `<li><b>Where:</b> ${text(where(finding))}${finding.key ? ` · key <code>${text(finding.key)}</code>` : ''} · code <code>${escapeHtml(finding.code)}</code></li>` +
    `<li><b>Evidence:</b> ${text(finding.evidence)}</li>` +
    `<li><b>Controls:</b> ${escapeHtml(controlsText(finding))}</li>` +
    `<li><b>Fix:</b> ${call ? `<code>${text(call)}</code>: ` : ''}${text(finding.fix.description)}</li></ul></section>`
  );
}

/** The HTML page for a report. */
export function renderHtml(report: AuditReport): string {
  const summary = summaryLines(report);
  const partial = summary.partial ? `<p class="partial"><b>${text(summary.partial.emphasis)}</b> ${escapeHtml(summary.partial.rest)}</p>` : '';
  const targets = report.sql_targets.length
    ? `<h2>Self-hosted SQL targets</h2><ul>${report.sql_targets.map((target) => `<li>${text(targetLine(target))}</li>`).join('')}</ul>`
    : '';
  const errors = report.errors.length
    ? `<h2>Could not audit</h2><ul>${report.errors.map((error) => `<li>${text(error.subject)}: ${text(error.message)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${REPORT_TITLE}</title><style>${STYLE}</style></head><body>
<h1>${REPORT_TITLE}</h1>
<div class="summary"><p>${escapeHtml(summary.generated)}</p>${partial}${summary.counts.map((line) => `<p>${escapeHtml(line)}</p>`).join('')}</div>
<blockquote>${DISCLAIMER}</blockquote>
<h2>Key age and certificate expiry</h2>
<p>Bars: CMEK keys from the day CockroachDB started using them until today; certificates from today until they expire. Black ticks: scheduled deletion or expiry. Colour: worst finding. Hover a row for details.</p>
${renderTimeline(report)}
<h2>Frameworks</h2>
${htmlTable(frameworkTable(report), new Set(['Critical', 'High', 'Medium', 'Low', 'Info']))}
<h2>Findings (${report.findings.length})</h2>
${report.findings.map(findingSection).join('\n')}
<h2>Clusters (${report.clusters.length})</h2>
${htmlTable(clusterTable(report))}
${targets}${errors}
<p><b>Next:</b> ${text(nextStep(report))}</p>
</body></html>
`;
}
