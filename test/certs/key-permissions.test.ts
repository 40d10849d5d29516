/**
 * cockroach's key permission rule on real files with real owners: a key owned by the cockroach
 * user may be at most 0700; a root-owned key whose group is cockroach's group may be at most 0740;
 * world access never. Owners are set with chown where this process may (root); otherwise the
 * branches reachable without root run against the files this user owns.
 */
import { chownSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectCertificates, type InspectReport } from '../../src/certs/inspect.js';
import { createCa, issue, writeCertsDir, type Issued } from './fixtures.js';

const now = Date.now();
const isRoot = process.getuid?.() === 0;
const ME = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
/** The user and group cockroach runs as in the chown cases. */
const ROACH = { uid: 4311, gid: 4312 };

let ca: Issued;
let node: Issued;
beforeAll(async () => {
  ca = await createCa();
  node = await issue(ca, { cn: 'node', days: 365 });
});

/** A node directory whose node.key has the given mode (and owner, when given). */
function nodeDir(mode: number, owner?: { uid: number; gid: number }): string {
  const dir = writeCertsDir({ 'ca.crt': { content: ca.certPem }, 'node.crt': { content: node.certPem }, 'node.key': { content: node.keyPem, mode } });
  if (owner) chownSync(join(dir, 'node.key'), owner.uid, owner.gid);
  return dir;
}

const keyFindings = (report: InspectReport) => report.findings.filter((f) => f.file === 'node.key').map((f) => [f.code, f.severity]);

describe('key file permissions, as the cockroach user', () => {
  it.each([0o600, 0o400, 0o700])('accepts a key owned by the cockroach user with mode %o', async (mode) => {
    const report = await inspectCertificates({ certsDir: nodeDir(mode), now, ...ME, gid: ME.gid + 1 });
    expect(keyFindings(report)).toEqual([]);
    expect(report.key_files[0]).toMatchObject({ file: 'node.key', mode: `0${mode.toString(8)}`, owner_uid: ME.uid, owned_by_current_user: true });
  });

  it.each([0o640, 0o660, 0o710])('flags a key of the cockroach user that its group may access (mode %o)', async (mode) => {
    const report = await inspectCertificates({ certsDir: nodeDir(mode), now, ...ME, gid: ME.gid + 1 });
    expect(keyFindings(report)).toEqual([['key_group_accessible', 'high']]);
    const found = report.findings.find((f) => f.code === 'key_group_accessible')!;
    expect(found.message).toContain('at most 0700');
    expect(found.message).toContain('COCKROACH_SKIP_KEY_PERMISSION_CHECK');
    expect(found.message).toMatch(/defaultMode/);
    expect(found.fix).toMatch(/^chmod 600 .*node\.key/);
  });

  it.each([0o604, 0o644, 0o666, 0o601])('flags a world-accessible key as critical (mode %o)', async (mode) => {
    const report = await inspectCertificates({ certsDir: nodeDir(mode), now, ...ME });
    expect(keyFindings(report)).toEqual([['key_world_accessible', 'critical']]);
  });
});

describe.runIf(isRoot)('key file permissions with other owners (chown)', () => {
  it.each([0o640, 0o740, 0o440, 0o600])("accepts a root-owned key of cockroach's group with mode %o", async (mode) => {
    const report = await inspectCertificates({ certsDir: nodeDir(mode, { uid: 0, gid: ROACH.gid }), now, ...ROACH });
    const expected = mode & 0o040 ? [] : [['key_owner', 'medium']];
    expect(keyFindings(report)).toEqual(expected);
    expect(report.key_files[0]).toMatchObject({ owner_uid: 0, owner_gid: ROACH.gid, owned_by_current_user: false });
  });

  it.each([0o660, 0o750, 0o670])("flags a root-owned key that grants cockroach's group more than read (mode %o)", async (mode) => {
    const report = await inspectCertificates({ certsDir: nodeDir(mode, { uid: 0, gid: ROACH.gid }), now, ...ROACH });
    expect(keyFindings(report)).toEqual([['key_group_accessible', 'high']]);
    expect(report.findings[0]!.message).toContain('at most 0740');
    expect(report.findings[0]!.fix).toMatch(/^chmod 640 /);
  });

  it("flags a root-owned, group-readable key whose group is not cockroach's", async () => {
    const report = await inspectCertificates({ certsDir: nodeDir(0o640, { uid: 0, gid: ROACH.gid + 7 }), now, ...ROACH });
    expect(keyFindings(report)).toEqual([
      ['key_group_accessible', 'high'],
      ['key_owner', 'medium'],
    ]);
    const found = report.findings.find((f) => f.code === 'key_group_accessible')!;
    expect(found.message).toContain(`gid ${ROACH.gid + 7}`);
    expect(found.fix).toContain('chown root:<cockroach group>');
  });

  it("flags a world-readable root-owned key even when its group is cockroach's", async () => {
    const report = await inspectCertificates({ certsDir: nodeDir(0o644, { uid: 0, gid: ROACH.gid }), now, ...ROACH });
    expect(keyFindings(report)).toEqual([['key_world_accessible', 'critical']]);
  });

  it('holds a key owned by the cockroach user to 0700 whatever its group', async () => {
    expect(keyFindings(await inspectCertificates({ certsDir: nodeDir(0o600, ROACH), now, ...ROACH }))).toEqual([]);
    expect(keyFindings(await inspectCertificates({ certsDir: nodeDir(0o640, ROACH), now, ...ROACH }))).toEqual([['key_group_accessible', 'high']]);
  });

  it('flags a key owned by another user that cockroach cannot read', async () => {
    const report = await inspectCertificates({ certsDir: nodeDir(0o600, { uid: ROACH.uid + 1, gid: ROACH.gid }), now, ...ROACH });
    expect(keyFindings(report)).toEqual([['key_owner', 'medium']]);
  });
});
