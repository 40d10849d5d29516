import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlsFor, summarizeFrameworks } from '../../src/audit/controls.js';
import { htmlPathFor, writeReportFiles } from '../../src/audit/report-file.js';
import { escapeHtml, renderHtml } from '../../src/audit/render-html.js';
import { REPORT_HEADING, renderCompact, renderFull } from '../../src/audit/render-markdown.js';
import { runAudit } from '../../src/audit/run-audit.js';
import { FRAMEWORKS, type AuditReport } from '../../src/audit/types.js';
import type { CmekClusterInfo } from '../../src/cloud/schemas.js';
import type { SqlConnector } from '../../src/sql/connector.js';
import { tempDir } from '../helpers/harness.js';
import { cluster, fakeCloud, fakeKms, keyDescription } from './fakes.js';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000001';
const PAST = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000002';
const evil = cluster('x<script>alert(1)</script>', { labels: {} });
const clusters = [cluster('prod'), cluster('basic', { plan: 'BASIC' }), evil];
const info: CmekClusterInfo = {
  status: 'ENABLED',
  region_infos: [
    {
      region: 'us-east-1',
      status: 'ENABLED',
      key_infos: [
        { spec: { type: 'AWS_KMS', uri: PAST, auth_principal: 'arn:aws:iam::111122223333:role/r' }, status: 'DISABLED', created_at: '2024-01-01T00:00:00Z', updated_at: '2025-01-01T00:00:00Z' },
        { spec: { type: 'AWS_KMS', uri: KEY, auth_principal: 'arn:aws:iam::111122223333:role/r' }, status: 'ENABLED', created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-01T00:00:00Z' },
      ],
    },
  ],
};

async function sampleReport(signal = new AbortController().signal): Promise<AuditReport> {
  const kms = fakeKms({
    [KEY]: keyDescription(KEY, 'AWS_KMS', { rotation: { automatic: false } }),
    [PAST]: keyDescription(PAST, 'AWS_KMS', { state: 'PendingDeletion', usable: false, deletion: { scheduled: true, scheduledFor: '2026-12-06T00:00:00Z' } }),
  });
  return runAudit(
    { cloud: fakeCloud(clusters, { cmek: { [clusters[0]!.id]: info } }), kms: kms.registry, sql: {} as SqlConnector, now: () => Date.parse('2026-11-24T00:00:00Z'), signal, progress: async () => {}, onRequestId: () => {}, concurrency: 2, kmsConcurrency: 2 },
    { scope: { kind: 'all' }, frameworks: FRAMEWORKS, includeKms: true, sqlTargets: [] },
  );
}

describe('control mapping', () => {
  it('maps at-rest findings to CC6.1 / 164.312(a)(2)(iv) / PCI 3.x and certificates to CC6.7 / 164.312(e)(2)(ii), never to PCI 4.2.1 (public networks)', () => {
    expect(controlsFor('past_key_pending_deletion')).toEqual(['SOC2 CC6.1', 'HIPAA 164.312(a)(2)(iv)', 'PCI_DSS 3.7.5']);
    expect(controlsFor('rotation_not_automatic')).toContain('PCI_DSS 3.7.4');
    expect(controlsFor('key_policy_too_broad')).toContain('PCI_DSS 3.6.1');
    expect(controlsFor('store_not_encrypted')).toContain('PCI_DSS 3.5.1');
    for (const code of ['node_certificate_expires_soon', 'client_certificate_expired', 'ca_certificate_expires_soon', 'certificate_check_unverified']) {
      expect(controlsFor(code)).toEqual(['SOC2 CC6.7', 'HIPAA 164.312(e)(2)(ii)']);
    }
    expect(() => controlsFor('made_up')).toThrow(/no control mapping/);
  });

  it('control status: fail on a finding above info, incomplete when unverified, not_assessed when nothing covered it', () => {
    const summary = summarizeFrameworks(
      [{ id: 'F-1', code: 'kms_check_unverified', severity: 'info', title: '', evidence: '', controls: ['SOC2 CC6.1'], fix: { tool: 'manual', description: '' } }],
      ['SOC2'],
      { complete: true, atRest: true, inTransit: false },
    );
    expect(summary[0]!.controls.map((c) => [c.control, c.status])).toEqual([['SOC2 CC6.1', 'incomplete'], ['SOC2 CC6.7', 'not_assessed']]);
    expect(summary[0]!.status).toBe('incomplete');
  });
});

describe('renderings', () => {
  it('compact text: summary, frameworks, top findings and the next step', async () => {
    const text = renderCompact(await sampleReport());
    expect(text).toMatch(/^Encryption posture audit:/);
    expect(text).toMatch(/Findings: 1 critical, 0 high, 2 medium, 1 low, 2 info/);
    expect(text).toMatch(/- \[critical\] prod us-east-1: Past CMEK key is scheduled for deletion \(past_key_pending_deletion\)/);
    expect(text).toMatch(/\nNext: fix past_key_pending_deletion on prod us-east-1 first: Cancel the deletion now: aws kms cancel-key-deletion/);
  });

  it('full Markdown starts with the report heading and holds every finding with evidence, controls and fix', async () => {
    const report = await sampleReport();
    const markdown = renderFull(report);
    expect(markdown.startsWith(REPORT_HEADING)).toBe(true);
    for (const finding of report.findings) expect(markdown).toContain(`### ${finding.id} [${finding.severity}]`);
    expect(markdown).toMatch(/- Controls: SOC2 CC6.1, HIPAA 164.312\(a\)\(2\)\(iv\), PCI_DSS 3.7.5/);
    expect(markdown).toMatch(/\| prod \| ADVANCED \| AWS \| ENABLED \| us-east-1: ENABLED, key 692 d, 1 past \|/);
  });

  it('HTML is self-contained, escapes everything and draws a key-age timeline', async () => {
    const html = renderHtml(await sampleReport());
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(escapeHtml(evil.name));
    expect(html).toMatch(/<svg [^>]*aria-label="Key age and certificate expiry timeline"/);
    expect(html).toMatch(/<text [^>]*>prod us-east-1 current key<\/text><rect [^>]*fill="#f9a825"/);
    expect(html).toMatch(/prod us-east-1 past key<\/text><rect [^>]*fill="#c62828"\/><line [^>]*class="marker"/);
    expect(html).not.toMatch(/<(link|img|iframe)\b/);
  });

  it('a partial report says so in every rendering', async () => {
    const controller = new AbortController();
    controller.abort();
    const report = await sampleReport(controller.signal);
    expect(report.stopped?.message).toMatch(/^Cancelled after 0 of/);
    expect(renderCompact(report)).toMatch(/incomplete/);
    expect(renderFull(report)).toMatch(/\*\*PARTIAL: Cancelled after 0 of/);
    expect(renderHtml(report)).toMatch(/PARTIAL: Cancelled after 0 of/);
  });
});

describe('report files', () => {
  it('writes <path>.md and <path>.html, and replaces its own earlier report', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.md');
    const report = await sampleReport();
    expect(await writeReportFiles(path, report)).toEqual({ markdown: path, html: join(dir, 'audit.html') });
    expect(readFileSync(path, 'utf8')).toBe(renderFull(report));
    expect(readFileSync(join(dir, 'audit.html'), 'utf8')).toMatch(/^<!doctype html>/);
    await writeReportFiles(path, report);
    expect(htmlPathFor('/a/b.MD')).toBe('/a/b.html');
  });

  it('never overwrites a foreign file or follows a symlink, and needs an absolute .md path in an existing directory', async () => {
    const dir = tempDir();
    const report = await sampleReport();
    writeFileSync(join(dir, 'notes.md'), 'my notes');
    await expect(writeReportFiles(join(dir, 'notes.md'), report)).rejects.toThrow(/Not overwriting .*notes.md/);
    expect(readFileSync(join(dir, 'notes.md'), 'utf8')).toBe('my notes');
    writeFileSync(join(dir, 'other.html'), '<html>mine</html>');
    await expect(writeReportFiles(join(dir, 'other.md'), report)).rejects.toThrow(/Not overwriting .*other.html/);
    writeFileSync(join(dir, 'target.md'), `${REPORT_HEADING}\n`);
    symlinkSync(join(dir, 'target.md'), join(dir, 'link.md'));
    await expect(writeReportFiles(join(dir, 'link.md'), report)).rejects.toThrow(/symlink/);
    expect(lstatSync(join(dir, 'link.md')).isSymbolicLink()).toBe(true);
    await expect(writeReportFiles('relative/audit.md', report)).rejects.toThrow(/absolute path ending in .md/);
    await expect(writeReportFiles(join(dir, 'audit.txt'), report)).rejects.toThrow(/absolute path ending in .md/);
    await expect(writeReportFiles(join(dir, 'missing', 'audit.md'), report)).rejects.toThrow(/does not exist/);
    mkdirSync(join(dir, 'sub'));
  });
});
