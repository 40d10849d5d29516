import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlsFor, summarizeFrameworks } from '../../src/audit/controls.js';
import { htmlPathFor, writeReportFiles } from '../../src/audit/report-file.js';
import { renderHtml } from '../../src/audit/render-html.js';
import { REPORT_HEADING, nextStep, renderCompact, renderFull } from '../../src/audit/render-markdown.js';
import { runAudit } from '../../src/audit/run-audit.js';
import { FRAMEWORKS, type AuditReport } from '../../src/audit/types.js';
import type { CmekClusterInfo } from '../../src/cloud/schemas.js';
import { createRedactor } from '../../src/safety/redact.js';
import { escapeHtml } from '../../src/safety/untrusted.js';
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
        {
          spec: { type: 'AWS_KMS', uri: PAST, auth_principal: 'arn:aws:iam::111122223333:role/r' },
          status: 'DISABLED',
          created_at: '2024-01-01T00:00:00Z',
          updated_at: '2025-01-01T00:00:00Z',
        },
        {
          spec: { type: 'AWS_KMS', uri: KEY, auth_principal: 'arn:aws:iam::111122223333:role/r' },
          status: 'ENABLED',
          created_at: '2025-01-01T00:00:00Z',
          updated_at: '2025-01-01T00:00:00Z',
        },
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
    {
      cloud: fakeCloud(clusters, { cmek: { [clusters[0]!.id]: info } }),
      kms: kms.registry,
      sql: {} as SqlConnector,
      now: () => Date.parse('2026-11-24T00:00:00Z'),
      signal,
      progress: async () => {},
      onRequestId: () => {},
      concurrency: 2,
      kmsConcurrency: 2,
    },
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
      [
        {
          id: 'F-1',
          code: 'kms_check_unverified',
          severity: 'info',
          title: '',
          evidence: '',
          controls: ['SOC2 CC6.1'],
          fix: { tool: 'manual', description: '' },
        },
      ],
      ['SOC2'],
      { complete: true, atRest: true, inTransit: false },
    );
    expect(summary[0]!.controls.map((c) => [c.control, c.status])).toEqual([
      ['SOC2 CC6.1', 'incomplete'],
      ['SOC2 CC6.7', 'not_assessed'],
    ]);
    expect(summary[0]!.status).toBe('incomplete');
  });
});

describe('renderings', () => {
  it('compact text: summary, frameworks, top findings and the next step', async () => {
    const text = renderCompact(await sampleReport());
    expect(text).toMatch(/^Encryption posture audit:/);
    expect(text).toMatch(/Findings: 1 critical, 0 high, 2 medium, 1 low, 2 info/);
    expect(text).toMatch(/- \[critical\] prod us-east-1: Past CMEK key is scheduled for deletion \(past_key_pending_deletion\)/);
    expect(text).not.toMatch(/\nNext:/); // the tool renders its one Next: line from next_actions
    expect(nextStep(await sampleReport())).toMatch(
      /^fix past_key_pending_deletion on prod us-east-1 first: Cancel the deletion now: aws kms cancel-key-deletion/,
    );
  });

  it('full Markdown starts with the report heading and holds every finding with evidence, controls and fix', async () => {
    const report = await sampleReport();
    const markdown = renderFull(report);
    expect(markdown.startsWith(REPORT_HEADING)).toBe(true);
    for (const finding of report.findings) expect(markdown).toContain(`### ${finding.id} [${finding.severity}]`);
    expect(markdown).toMatch(/- Controls: SOC2 CC6.1, HIPAA 164.312\(a\)\(2\)\(iv\), PCI_DSS 3.7.5/);
    expect(markdown).toMatch(/\| prod \| ADVANCED \| AWS \| ENABLED \| us-east-1: ENABLED, key 692 d, 1 past \|/);
    // An upstream name is literal text: no raw tag, no heading of its own.
    expect(markdown).not.toMatch(/<script/i);
    expect(markdown).toContain('x&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('HTML is self-contained, escapes everything and draws a key-age timeline', async () => {
    const html = renderHtml(await sampleReport());
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(escapeHtml(evil.name));
    expect(html).toMatch(/<table class="timeline" aria-label="Key age and certificate expiry timeline">/);
    expect(html).toMatch(/<th scope="row">prod us-east-1 current key<\/th><td class="plot"><svg [^>]*>(<line [^>]*>)*<rect [^>]*fill="#f9a825"/);
    expect(html).toMatch(
      /<th scope="row">prod us-east-1 past key<\/th><td class="plot"><svg [^>]*>(<line [^>]*>)*<rect [^>]*fill="#c62828"[^>]*\/><rect [^>]*class="marker"/,
    );
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
  it('writes <name>.md and <name>.html inside the reports directory, redacted, and never overwrites', async () => {
    const reports = join(tempDir(), 'reports');
    const report = await sampleReport();
    const redactor = createRedactor();
    const files = await writeReportFiles(reports, 'audit.md', report, redactor);
    expect(files).toEqual({ markdown: join(realpathSync(reports), 'audit.md'), html: join(realpathSync(reports), 'audit.html') });
    expect(readFileSync(files.markdown, 'utf8')).toBe(renderFull(report));
    expect(readFileSync(files.html, 'utf8')).toMatch(/^<!doctype html>/);
    await expect(writeReportFiles(reports, files.markdown, report, redactor)).rejects.toThrow(/Not overwriting .*audit.md/);
    mkdirSync(join(reports, 'team'));
    expect((await writeReportFiles(reports, 'team/q4.md', report, redactor)).markdown).toBe(join(realpathSync(reports), 'team', 'q4.md'));
    expect(htmlPathFor('/a/b.MD')).toBe('/a/b.html');
  });

  it('masks secrets in both files like any answer', async () => {
    const reports = tempDir();
    const report = await sampleReport();
    report.errors.push({ subject: 'cluster prod', message: 'upstream said: password=hunter2 for postgresql://app:s3cret-pw@db/x, key very-secret-key' });
    const redactor = createRedactor().withSecrets(['very-secret-key']);
    const files = await writeReportFiles(reports, 'leak.md', report, redactor);
    for (const path of [files.markdown, files.html]) {
      const text = readFileSync(path, 'utf8');
      for (const secret of ['hunter2', 's3cret-pw', 'very-secret-key']) expect(text, path).not.toContain(secret);
    }
  });

  it('refuses anything outside the reports directory: CLAUDE.md elsewhere, .., symlinks out, foreign files, hidden names', async () => {
    const root = tempDir();
    const reports = join(root, 'reports');
    mkdirSync(reports);
    const report = await sampleReport();
    const redactor = createRedactor();
    await expect(writeReportFiles(reports, join(root, 'CLAUDE.md'), report, redactor)).rejects.toThrow(
      /Not writing a report to .*CLAUDE.md[\s\S]*only inside the reports directory/,
    );
    await expect(writeReportFiles(reports, '../CLAUDE.md', report, redactor)).rejects.toThrow(/only inside the reports directory/);
    expect(existsSync(join(root, 'CLAUDE.md'))).toBe(false);
    symlinkSync(root, join(reports, 'out'));
    await expect(writeReportFiles(reports, 'out/CLAUDE.md', report, redactor)).rejects.toThrow(/symlink.*outside/);
    expect(existsSync(join(root, 'CLAUDE.md'))).toBe(false);
    writeFileSync(join(reports, 'notes.md'), 'my notes');
    await expect(writeReportFiles(reports, 'notes.md', report, redactor)).rejects.toThrow(/Not overwriting .*notes.md/);
    expect(readFileSync(join(reports, 'notes.md'), 'utf8')).toBe('my notes');
    writeFileSync(join(root, 'target.md'), `${REPORT_HEADING}\n`);
    symlinkSync(join(root, 'target.md'), join(reports, 'link.md'));
    await expect(writeReportFiles(reports, 'link.md', report, redactor)).rejects.toThrow(/Not overwriting .*link.md/);
    expect(readFileSync(join(root, 'target.md'), 'utf8')).toBe(`${REPORT_HEADING}\n`);
    await expect(writeReportFiles(reports, 'audit.txt', report, redactor)).rejects.toThrow(/ending in .md/);
    await expect(writeReportFiles(reports, '.hidden.md', report, redactor)).rejects.toThrow(/ending in .md \(not hidden\)/);
    await expect(writeReportFiles(reports, 'missing/audit.md', report, redactor)).rejects.toThrow(/does not exist/);
  });
});
