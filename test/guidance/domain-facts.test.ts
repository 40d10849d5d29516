/**
 * The corrections of DOMAIN.md's 2026-12 review, held against every text a model copies from:
 * the skills (SKILL.md and references) and the prompts as the server renders them. A stale
 * statement coming back fails here with the file and line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/harness.js';

interface Text {
  source: string;
  text: string;
}

function skillTexts(dir = join(process.cwd(), 'skills')): Text[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => ({ source: `skills/${file}`, text: readFileSync(join(dir, file), 'utf8') }));
}

let texts: Text[];
beforeAll(async () => {
  const server: TestServer = await startTestServer();
  const prompts: Text[] = [];
  try {
    const { prompts: listed } = await server.client.listPrompts();
    for (const prompt of listed) {
      for (const reason of ['Routine monitoring', 'Scheduled rotation', 'Key compromise', 'Compliance audit', 'Add SAN entries']) {
        const args: Record<string, string> = {};
        for (const argument of prompt.arguments ?? []) {
          if (argument.name === 'tier') args.tier = prompt.name === 'gather_encryption_context' ? 'Self-Hosted' : 'Advanced';
          if (argument.name === 'reason') args.reason = reason;
          if (argument.name === 'provider') args.provider = 'Azure';
          if (argument.name === 'cluster') args.cluster = 'my-cluster';
        }
        const got = await server.client.getPrompt({ name: prompt.name, arguments: args }).catch(() => undefined);
        if (!got) continue;
        const text = got.messages.map((message) => (message.content.type === 'text' ? message.content.text : JSON.stringify(message.content))).join('\n');
        prompts.push({ source: `prompt ${prompt.name} (${reason})`, text });
      }
    }
  } finally {
    await server.close();
  }
  texts = [...skillTexts(), ...prompts];
});

/** Lines of every text matching `pattern`, as "source: line". */
function lines(pattern: RegExp, keep: (line: string) => boolean = () => true): string[] {
  return texts.flatMap(({ source, text }) =>
    text
      .split('\n')
      .filter((line) => pattern.test(line) && keep(line))
      .map((line) => `${source}: ${line.trim()}`),
  );
}

describe('DOMAIN corrections hold in skills and prompts', () => {
  it('reads skills and rendered prompts', () => {
    expect(texts.filter((t) => t.source.startsWith('skills/')).length).toBeGreaterThan(10);
    expect(texts.filter((t) => t.source.startsWith('prompt ')).length).toBeGreaterThan(5);
  });

  it('names CA files as cockroach does: client-ca.crt / ui-ca.crt only as names cockroach ignores', () => {
    // Allowed only where the line corrects it (names ca-client.crt / ca-ui.crt or says cockroach ignores it).
    expect(lines(/\b(client-ca|ui-ca)\.(crt|key)\b/, (line) => !/ignor|ca-client\.crt|ca-ui\.crt/i.test(line))).toEqual([]);
    expect(lines(/ca-client\.crt/).length).toBeGreaterThan(3);
  });

  it('says SENSITIVE_ACCESS wherever allow_unsafe_internals is suggested', () => {
    const paragraphs = texts.flatMap(({ source, text }) => text.split(/\n\s*\n/).map((paragraph) => ({ source, paragraph })));
    const silent = paragraphs.filter(({ paragraph }) => /allow_unsafe_internals/.test(paragraph) && !/SENSITIVE_ACCESS/.test(paragraph));
    expect(silent.map(({ source, paragraph }) => `${source}: ${paragraph.slice(0, 120)}`)).toEqual([]);
  });

  it('never says revocation bites only on the next node restart', () => {
    expect(lines(/next (node )?restart/i, (line) => !/not "on the next node restart"/.test(line))).toEqual([]);
    expect(lines(/stops? serving at once/i).length).toBeGreaterThan(2);
  });

  it('gives key permissions as cockroach checks them, not a blanket 0600', () => {
    expect(lines(/key files? (must be|are) `?0600/i)).toEqual([]);
    expect(lines(/0740|root:cockroach|root:<cockroach group>/).length).toBeGreaterThan(2);
    expect(lines(/COCKROACH_SKIP_KEY_PERMISSION_CHECK/).length).toBeGreaterThan(1);
  });

  it('decodes store encryption 4-6 as the V2 variants and says the flag must always be given', () => {
    expect(lines(/rocksdb\.encryption\.algorithm/, (line) => /1-3|1 = AES/.test(line) && !/4-6|V2/.test(line))).toEqual([]);
    expect(lines(/encryption-active-key/).length).toBeGreaterThan(1);
    expect(lines(/must (always )?be given|must be given on every start/i).length).toBeGreaterThan(1);
  });

  it('treats the client certificate metric per SQL user', () => {
    expect(lines(/sql_user/).length).toBeGreaterThan(2);
    expect(lines(/means nothing|meaningless/).length).toBeGreaterThan(1);
  });

  it('names which Kubernetes operator each setting belongs to', () => {
    // Per section (a heading and what follows): the operator is named where its settings appear.
    const sections = texts.flatMap(({ source, text }) => text.split(/\n(?=#{1,3} )/).map((section) => ({ source, section })));
    const unnamed = sections.filter(
      ({ section }) =>
        (/nodeTLSSecret|clientTLSSecret/.test(section) && !/public operator|CrdbCluster/i.test(section)) ||
        (/externalCertificates/.test(section) && !/CockroachDB operator/.test(section)),
    );
    expect(unnamed.map(({ source, section }) => `${source}: ${section.slice(0, 80)}`)).toEqual([]);
    expect(lines(/public operator/i).length).toBeGreaterThan(2);
    expect(lines(/CockroachDB operator/).length).toBeGreaterThan(2);
  });

  it('keeps the other corrections: no refusal of key locations, Azure Preview, 25 on-demand rotations', () => {
    expect(lines(/location equals the cluster region|limited access|at most 10\b|in the \*\*same region\*\*/i)).toEqual([]);
    expect(lines(/RotateKeyOnDemand/, (line) => /at most/.test(line) && !/25/.test(line))).toEqual([]);
  });
});
