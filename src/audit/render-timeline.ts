/**
 * The HTML report's timeline: one row per CMEK key (from the day CockroachDB started using it
 * until today) and per self-hosted certificate (from today until it expires), worst first.
 *
 * Layout that holds for any fleet and any name: row labels are table header cells, so the browser
 * wraps them and they can neither overlap each other nor a bar; each row's bar, deletion/expiry
 * tick and grid lines are an SVG laid over the plot cell in percent of its width, with a margin
 * at both ends so no tick is cut by the SVG's edge; the axis labels are our own short strings,
 * "today" on a line of its own and the dates thinned to a step that leaves room for each label
 * at the narrowest plot column of the page widths it is shown at (two layouts, switched by a
 * media query), so they never overprint or run past the plot at any page width.
 */
import { escapeHtml, untrusted } from '../safety/untrusted.js';
import type { AuditReport, Finding, Severity } from './types.js';

/** Rows beyond this are summarised; findings' rows come first. */
export const MAX_TIMELINE_ROWS = 250;
/**
 * The date axis is laid out twice, each for the narrowest plot column of the page widths it is
 * shown at: pages from 360 px wide (plot >= 200 px), and pages from 1000 px (plot >= 600 px).
 */
const AXIS_LAYOUTS = [
  { name: 'narrow', plotPx: 200 },
  { name: 'wide', plotPx: 560 },
] as const;
const WIDE_PAGE_PX = 1000;
/** Axis font size (px), and a generous bound on one character's advance in it (em; digits are about 0.55). */
const AXIS_FONT_PX = 11;
const CHAR_EM = 0.7;
/** Room kept between two axis labels (px). */
const LABEL_GAP_PX = 10;
/** Percent of the plot left free at each end, so a tick at the first or last date stays whole. */
const EDGE = 1;
/** Upstream names and regions in a row label are capped (the inventory has them in full). */
const NAME_IN_LABEL = 60;
const REGION_IN_LABEL = 40;

export type Level = Severity | 'ok';

/** Bar colour per worst finding (ok: none). */
export const LEVEL_COLORS: Record<Level, string> = { critical: '#c62828', high: '#ef6c00', medium: '#f9a825', low: '#1565c0', info: '#78909c', ok: '#2e7d32' };
const RANK: Record<Level, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4, ok: 5 };

/** The timeline's CSS; the page includes it. */
export const TIMELINE_STYLE = `table.timeline{table-layout:fixed;margin:8px 0 4px}table.timeline col.label{width:34%}
table.timeline th,table.timeline td{border:0;padding:1px 8px;font-size:12px;font-weight:normal;background:none}
table.timeline tbody th{overflow-wrap:anywhere}table.timeline tbody tr:nth-child(even){background:#fafafa}
table.timeline td.plot{position:relative}table.timeline td.plot svg{position:absolute;left:8px;top:0;width:calc(100% - 16px);height:100%}
.axis{position:relative;height:16px}.axis span{position:absolute;top:0;white-space:nowrap;font-size:${AXIS_FONT_PX}px;color:#616161;font-variant-numeric:tabular-nums}
.axis .middle{transform:translateX(-50%)}.axis .end{transform:translateX(-100%)}.at-wide{display:none}
@media (min-width:${WIDE_PAGE_PX}px){.at-narrow{display:none}.at-wide{display:block}}
svg .grid{stroke:#e0e0e0}svg .now{stroke:#212121;stroke-dasharray:4 3}svg .marker{fill:#000}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;-webkit-print-color-adjust:exact;print-color-adjust:exact}`;

interface Row {
  label: string;
  /** Bar from start to end (ms); a key spans creation to now, a certificate now to expiry. */
  start: number;
  end: number;
  /** A scheduled deletion or an expiry. */
  marker?: number;
  level: Level;
  tooltip: string;
}

interface AxisLabel {
  /** Percent of the plot width. */
  at: number;
  text: string;
  align: 'start' | 'middle' | 'end';
}

function worst(findings: readonly Finding[]): Level {
  return findings.reduce<Level>((acc, finding) => (RANK[finding.severity] < RANK[acc] && finding.severity !== 'info' ? finding.severity : acc), 'ok');
}

function keyRows(report: AuditReport, now: number): Row[] {
  const rows: Row[] = [];
  for (const cluster of report.clusters) {
    for (const region of cluster.regions) {
      for (const key of region.keys) {
        const created = Date.parse(key.created_at ?? '');
        if (Number.isNaN(created)) continue;
        const related = report.findings.filter((finding) => finding.cluster?.id === cluster.id && finding.region === region.region && finding.key === key.uri);
        const deletion = key.kms?.deletion_scheduled_for ? Date.parse(key.kms.deletion_scheduled_for) : Number.NaN;
        rows.push({
          label: `${untrusted(cluster.name, NAME_IN_LABEL)} ${untrusted(region.region, REGION_IN_LABEL)} ${key.role} key`,
          start: created,
          end: now,
          ...(Number.isNaN(deletion) ? {} : { marker: deletion }),
          level: worst(related),
          tooltip: [
            `${cluster.name} ${region.region}: ${key.uri}`,
            `in use since ${key.created_at} (${key.age_days ?? '?'} days)`,
            ...(key.kms
              ? [
                  `KMS ${key.kms.state}, rotation ${key.kms.rotation_automatic ? 'automatic' : 'off'}${Number.isNaN(deletion) ? '' : `, deletion scheduled for ${key.kms.deletion_scheduled_for}`}`,
                ]
              : []),
            ...related.map((finding) => `${finding.severity}: ${finding.title}`),
          ].join('\n'),
        });
      }
    }
  }
  return rows;
}

function certificateRows(report: AuditReport, now: number): Row[] {
  const levels: Record<string, Level> = { expired: 'critical', rotate_now: 'critical', schedule_rotation: 'high', plan_rotation: 'medium' };
  return report.sql_targets.flatMap((target) =>
    target.certificates
      .filter((cert) => cert.expires_at !== null)
      .map((cert) => {
        const expires = Date.parse(cert.expires_at!);
        return {
          label: `${untrusted(target.name, NAME_IN_LABEL)} node ${untrusted(cert.node, REGION_IN_LABEL)} ${cert.type} cert`,
          start: Math.min(now, expires),
          end: Math.max(now, expires),
          marker: expires,
          level: levels[cert.status] ?? 'ok',
          tooltip: `${target.name}: ${cert.type} certificate of node ${cert.node} expires ${cert.expires_at} (${cert.days_left} days, ${cert.status})`,
        };
      }),
  );
}

/** Width of an axis label in percent of a plot `plotPx` wide. */
function labelPercent(text: string, plotPx: number): number {
  return ((text.length * CHAR_EM * AXIS_FONT_PX + LABEL_GAP_PX) / plotPx) * 100;
}

/** Candidate tick steps in months: 1, 3, 6, then 1, 2, 5, 10, 20, 50... years. */
function* tickSteps(): Generator<number> {
  yield* [1, 3, 6];
  for (let years = 1; years <= 1e5; years *= 10) yield* [12 * years, 24 * years, 60 * years];
}

const monthOfYear = (month: number) => ((month % 12) + 12) % 12;
const monthStart = (month: number) => Date.UTC(Math.floor(month / 12), monthOfYear(month), 1);

/**
 * Date labels for the axis: month or year boundaries at the smallest step whose labels, centred
 * on their boundary, are at least a label's width apart on a plot `plotPx` wide; boundaries too
 * close to either end for a centred label are left out.
 */
function dateLabels(from: number, to: number, x: (at: number) => number, plotPx: number): AxisLabel[] {
  const first = new Date(from).getUTCFullYear() * 12 + new Date(from).getUTCMonth() + 1;
  const last = new Date(to).getUTCFullYear() * 12 + new Date(to).getUTCMonth();
  for (const step of tickSteps()) {
    if ((last - first) / step > 40) continue;
    const labels: AxisLabel[] = [];
    for (let month = Math.ceil(first / step) * step; month <= last; month += step) {
      const year = String(Math.floor(month / 12));
      labels.push({ at: x(monthStart(month)), text: step < 12 ? `${year}-${String(monthOfYear(month) + 1).padStart(2, '0')}` : year, align: 'middle' });
    }
    const width = Math.max(0, ...labels.map((label) => labelPercent(label.text, plotPx)));
    if (labels.every((label, index) => index === 0 || label.at - labels[index - 1]!.at >= width)) {
      return labels.filter((label) => label.at - width / 2 >= 0 && label.at + width / 2 <= 100);
    }
  }
  return [];
}

/** "today": centred on its line, or flush with the end of the plot it would otherwise run past. */
function todayLabel(at: number, plotPx: number): AxisLabel {
  const half = labelPercent('today', plotPx) / 2;
  return { at, text: 'today', align: at < half ? 'start' : at > 100 - half ? 'end' : 'middle' };
}

function axis(labels: readonly AxisLabel[], layout: string): string {
  return `<div class="axis at-${layout}">${labels.map((label) => `<span class="${label.align}" style="left:${label.at.toFixed(3)}%">${escapeHtml(label.text)}</span>`).join('')}</div>`;
}

const percent = (value: number) => `${value.toFixed(3)}%`;

/** The timeline section's body: a legend, the table of rows, and a note on rows not drawn. */
export function renderTimeline(report: AuditReport): string {
  const now = Date.parse(report.generated_at);
  const all = [...certificateRows(report, now), ...keyRows(report, now)].sort((a, b) => RANK[a.level] - RANK[b.level] || a.start - b.start);
  if (all.length === 0) return '<p>No keys or certificates with dates to show.</p>';
  const rows = all.slice(0, MAX_TIMELINE_ROWS);
  const from = Math.min(now, ...rows.map((row) => row.start));
  const to = Math.max(now + 30 * 86_400_000, ...rows.map((row) => Math.max(row.end, row.marker ?? 0)));
  const x = (at: number) => EDGE + ((at - from) / (to - from)) * (100 - 2 * EDGE);
  const axes = AXIS_LAYOUTS.map((layout) => ({ name: layout.name, today: todayLabel(x(now), layout.plotPx), dates: dateLabels(from, to, x, layout.plotPx) }));
  const line = (at: number, className: string) => `<line x1="${percent(at)}" x2="${percent(at)}" y1="0" y2="100%" class="${className}"/>`;
  const grid = [...axes.flatMap((layout) => layout.dates.map((label) => line(label.at, `grid at-${layout.name}`))), line(x(now), 'now')].join('');
  const body = rows.map((row) => {
    const bar = `<rect x="${percent(x(row.start))}" y="50%" width="${percent(x(row.end) - x(row.start))}" height="10" rx="2" transform="translate(0 -5)" fill="${LEVEL_COLORS[row.level]}" stroke="${LEVEL_COLORS[row.level]}"/>`;
    const marker =
      row.marker === undefined ? '' : `<rect x="${percent(x(row.marker))}" y="50%" width="2" height="14" transform="translate(-1 -7)" class="marker"/>`;
    return `<tr title="${escapeHtml(row.tooltip)}"><th scope="row">${escapeHtml(row.label)}</th><td class="plot"><svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true">${grid}${bar}${marker}</svg></td></tr>`;
  });
  const legend = (['critical', 'high', 'medium', 'low', 'ok'] as const)
    .map((level) => `<span><i style="background:${LEVEL_COLORS[level]}"></i>${level === 'ok' ? 'no finding' : level}</span>`)
    .join('');
  const more =
    all.length > rows.length ? `<p>${all.length - rows.length} more rows not drawn (the JSON and Markdown reports list every key and certificate).</p>` : '';
  return (
    `<p class="legend">${legend}</p>` +
    `<table class="timeline" aria-label="Key age and certificate expiry timeline"><colgroup><col class="label"><col></colgroup>` +
    `<thead><tr><th scope="col">Key or certificate</th><th scope="col">${axes.map((layout) => axis([layout.today], layout.name)).join('')}</th></tr></thead>` +
    `<tbody>${body.join('')}</tbody>` +
    `<tfoot><tr><td></td><td>${axes.map((layout) => axis(layout.dates, layout.name)).join('')}</td></tr></tfoot></table>${more}`
  );
}
