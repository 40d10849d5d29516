/**
 * A self-contained HTML page (inline CSS and SVG, no scripts) with the audit summary, a timeline
 * of CMEK key ages and certificate expiries, and the findings. Every text is escaped.
 */
import { REPORT_HEADING, nextStep } from './render-markdown.js';
import type { AuditReport, Finding, Severity } from './types.js';

/** Rows beyond this are summarised; findings' rows come first. */
export const MAX_TIMELINE_ROWS = 250;

const DAY_MS = 86_400_000;
const COLORS: Record<Severity | 'ok', string> = { critical: '#c62828', high: '#ef6c00', medium: '#f9a825', low: '#1565c0', info: '#78909c', ok: '#2e7d32' };
const RANK: Record<Severity | 'ok', number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4, ok: 5 };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

interface Row {
  label: string;
  /** Bar from start to end (ms); a key spans creation to now, a certificate now to expiry. */
  start: number;
  end: number;
  /** A marker, e.g. a scheduled deletion date. */
  marker?: { at: number; label: string };
  level: Severity | 'ok';
  tooltip: string;
}

function worst(findings: readonly Finding[]): Severity | 'ok' {
  return findings.reduce<Severity | 'ok'>((acc, finding) => (RANK[finding.severity] < RANK[acc] && finding.severity !== 'info' ? finding.severity : acc), 'ok');
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
          label: `${cluster.name} ${region.region} ${key.role} key`,
          start: created,
          end: now,
          ...(Number.isNaN(deletion) ? {} : { marker: { at: deletion, label: 'deletion' } }),
          level: worst(related),
          tooltip: `${key.uri}\nin use since ${key.created_at} (${key.age_days ?? '?'} days)${key.kms ? `\nKMS ${key.kms.state}, rotation ${key.kms.rotation_automatic ? 'automatic' : 'off'}` : ''}${related.length ? `\n${related.map((f) => `${f.severity}: ${f.title}`).join('\n')}` : ''}`,
        });
      }
    }
  }
  return rows;
}

function certificateRows(report: AuditReport, now: number): Row[] {
  const levels: Record<string, Severity | 'ok'> = { expired: 'critical', rotate_now: 'critical', schedule_rotation: 'high', plan_rotation: 'medium' };
  return report.sql_targets.flatMap((target) =>
    target.certificates
      .filter((cert) => cert.expires_at !== null)
      .map((cert) => {
        const expires = Date.parse(cert.expires_at!);
        return {
          label: `${target.name} node ${cert.node} ${cert.type} cert`,
          start: Math.min(now, expires),
          end: Math.max(now, expires),
          marker: { at: expires, label: 'expiry' },
          level: levels[cert.status] ?? 'ok',
          tooltip: `${cert.type} certificate of node ${cert.node}: expires ${cert.expires_at} (${cert.days_left} days, ${cert.status})`,
        };
      }),
  );
}

function timeline(report: AuditReport): string {
  const now = Date.parse(report.generated_at);
  const all = [...certificateRows(report, now), ...keyRows(report, now)].sort((a, b) => RANK[a.level] - RANK[b.level] || a.start - b.start);
  if (all.length === 0) return '<p>No keys or certificates with dates to show.</p>';
  const rows = all.slice(0, MAX_TIMELINE_ROWS);
  const from = Math.min(...rows.map((row) => row.start));
  const to = Math.max(now + 30 * DAY_MS, ...rows.map((row) => Math.max(row.end, row.marker?.at ?? 0)));
  const labelWidth = 330;
  const width = 1100;
  const plot = width - labelWidth - 20;
  const rowHeight = 18;
  const x = (at: number) => labelWidth + ((at - from) / (to - from || 1)) * plot;
  const height = rows.length * rowHeight + 40;
  const years: string[] = [];
  for (let year = new Date(from).getUTCFullYear() + 1; Date.UTC(year, 0, 1) <= to; year++) {
    const at = x(Date.UTC(year, 0, 1));
    years.push(`<line x1="${at}" y1="0" x2="${at}" y2="${height - 20}" class="grid"/><text x="${at + 3}" y="${height - 6}" class="axis">${year}</text>`);
  }
  const bars = rows.map((row, index) => {
    const y = index * rowHeight + 4;
    const marker = row.marker ? `<line x1="${x(row.marker.at)}" y1="${y - 2}" x2="${x(row.marker.at)}" y2="${y + 12}" class="marker"/>` : '';
    return `<g><title>${escapeHtml(row.tooltip)}</title><text x="4" y="${y + 10}" class="label">${escapeHtml(row.label.slice(0, 52))}</text><rect x="${x(row.start)}" y="${y}" width="${Math.max(2, x(row.end) - x(row.start))}" height="10" rx="2" fill="${COLORS[row.level]}"/>${marker}</g>`;
  });
  const nowLine = `<line x1="${x(now)}" y1="0" x2="${x(now)}" y2="${height - 20}" class="now"/><text x="${x(now) + 3}" y="${height - 6}" class="axis">today</text>`;
  const more = all.length > rows.length ? `<p>${all.length - rows.length} more rows not drawn (the JSON and Markdown reports list every key and certificate).</p>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Key age and certificate expiry timeline">${years.join('')}${bars.join('')}${nowLine}</svg>${more}`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#212121}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f5f5f5}
.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}.partial{background:#fff3e0;border:1px solid #ef6c00;padding:8px}
svg .label{font-size:11px}svg .axis{font-size:11px;fill:#616161}svg .grid{stroke:#eee}svg .now{stroke:#212121;stroke-dasharray:4 3}svg .marker{stroke:#000;stroke-width:2}code{font-size:12px}`;

/** The HTML page for a report. */
export function renderHtml(report: AuditReport): string {
  const s = report.summary;
  const sev = (severity: Severity) => `<span class="sev" style="background:${COLORS[severity]}">${severity}</span>`;
  const frameworks = report.framework_summary
    .flatMap((framework) => framework.controls.map((control) => `<tr><td>${escapeHtml(control.control)}</td><td>${escapeHtml(control.title)}</td><td>${control.status}</td><td>${control.findings.critical}</td><td>${control.findings.high}</td><td>${control.findings.medium}</td><td>${control.findings.low}</td></tr>`))
    .join('');
  const findings = report.findings
    .map((finding) => {
      const subject = finding.cluster ? finding.cluster.name : `${finding.target ?? ''}${finding.node ? ` node ${finding.node}` : ''}`;
      return `<tr><td>${sev(finding.severity)}</td><td>${escapeHtml(subject)}${finding.region ? ` ${escapeHtml(finding.region)}` : ''}</td><td><b>${escapeHtml(finding.title)}</b><br><code>${escapeHtml(finding.code)}</code>${finding.key ? `<br><code>${escapeHtml(finding.key)}</code>` : ''}</td><td>${escapeHtml(finding.evidence)}</td><td>${escapeHtml(finding.controls.join(', '))}</td><td><code>${escapeHtml(finding.fix.tool)}</code> ${escapeHtml(finding.fix.description)}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(REPORT_HEADING.slice(2))}</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(REPORT_HEADING.slice(2))}</h1>
<p>Generated ${escapeHtml(report.generated_at)} · Scope: ${escapeHtml(report.scope)} · Frameworks: ${escapeHtml(report.frameworks.join(', '))}</p>
${report.stopped ? `<p class="partial"><b>PARTIAL: ${escapeHtml(report.stopped.message)}.</b></p>` : ''}
<p>Clusters: ${s.clusters_in_scope} in scope, ${s.clusters_audited} audited, ${s.clusters_failed} failed, ${s.clusters_not_audited} not audited · SQL targets: ${s.sql_targets} · Findings: ${s.findings.critical} critical, ${s.findings.high} high, ${s.findings.medium} medium, ${s.findings.low} low, ${s.findings.info} info</p>
<p><i>Automated technical evidence for an assessor, not an attestation of compliance.</i></p>
<h2>Key age and certificate expiry</h2>
<p>Bars: CMEK keys from the day CockroachDB started using them until today; certificates from today until they expire. Black ticks: scheduled deletion or expiry. Colour: worst finding (green: none).</p>
${timeline(report)}
<h2>Frameworks</h2>
<table><tr><th>Control</th><th>Title</th><th>Status</th><th>Critical</th><th>High</th><th>Medium</th><th>Low</th></tr>${frameworks}</table>
<h2>Findings (${report.findings.length})</h2>
<table><tr><th>Severity</th><th>Where</th><th>Finding</th><th>Evidence</th><th>Controls</th><th>Fix</th></tr>${findings}</table>
${report.errors.length ? `<h2>Could not audit</h2><ul>${report.errors.map((error) => `<li>${escapeHtml(error.subject)}: ${escapeHtml(error.message)}</li>`).join('')}</ul>` : ''}
<p><b>Next:</b> ${escapeHtml(nextStep(report))}</p>
</body></html>
`;
}
