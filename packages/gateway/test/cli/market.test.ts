/**
 * `gridseam market import-awards` against a gateway started in this test (startGateway on an
 * in-memory SQLite store, listening on 127.0.0.1:0) with an active CAISO aggregation put through
 * the MarketService. The command runs in-process through the CLI's `main` (one spawn of the real
 * binary at the end).
 *
 * The awards (hours 48 h ahead, so the events are scheduled): ENERGY 0.2 MW then 0.3 MW in two
 * consecutive hours (one event run of 2 intervals) and REG_UP 0.1 MW in the first hour (a second
 * event): 3 awards, 2 events of program market-awards.agg-1, both created by the first import and
 * updated (created: false) by every import after it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ProgramEvent } from '@gridseam/model';
import { sha256Hex } from '../../src/api/auth.ts';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import type { AwardImport } from '../../src/market/index.ts';
import { MarketService } from '../../src/market/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { type CliResult, cleanEnv, runCli, runCliInProcess } from './helpers.ts';

const temp = useTempDir('gridseam-market-cli-');
const H = 3_600_000;
const D = 86_400_000;
const OPERATOR = 'operator-secret-for-cli-test';
const VIEWER = 'viewer-secret-for-cli-test';
/** 48 hours ahead, on the hour. */
const A = Math.ceil(Date.now() / H) * H + 48 * H;
const iso = (ms: number) => new Date(ms).toISOString();

const CSV = [
  'resource_id,start,end,market,product,mw,clearing_price',
  `CAISO_DERA_1,${iso(A)},${iso(A + H)},DA,ENERGY,0.2,45.5`,
  `CAISO_DERA_1,${iso(A + H)},${iso(A + 2 * H)},DA,ENERGY,0.3,60`,
  `CAISO_DERA_1,${iso(A)},${iso(A + H)},DA,REG_UP,0.1,9.5`,
].join('\n');

const JSON_AWARDS = JSON.stringify({
  awards: CSV.split('\n')
    .slice(1)
    .map((line) => {
      const [resource_id, start, end, market, product, mw, clearing_price] = line.split(',');
      return { resource_id, start, end, market, product, mw: Number(mw), clearing_price: Number(clearing_price) };
    }),
});

const CONFIG = `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api:
  host: 127.0.0.1
  port: 0
  tokens:
    - { name: ops, role: operator, tokenSha256: ${sha256Hex(OPERATOR)} }
    - { name: watcher, role: viewer, tokenSha256: ${sha256Hex(VIEWER)} }
fleet:
  sites:
    - { id: site-1, name: Site one }
  devices:
    - { id: bat-1, siteId: site-1, class: battery, adapter: { kind: simulator, address: "sim:bat-1" },
        capabilities: { controls: [fixedW], storage: { capacityWh: 1200000, maxChargeW: 300000, maxDischargeW: 300000 } } }
    - { id: bat-2, siteId: site-1, class: battery, adapter: { kind: simulator, address: "sim:bat-2" },
        capabilities: { controls: [fixedW], storage: { capacityWh: 1000000, maxChargeW: 250000, maxDischargeW: 250000 } } }
  groups:
    - { id: grp-agg, name: Aggregation members, kind: group, members: [bat-1, bat-2] }
`;

/** The same `main` the binary runs, in this process, with an environment. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCliInProcess(['market', 'import-awards', ...args], { cwd: temp.dir(), env });
}

function assertOneErrorLine(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.filter((line) => line.startsWith('error:')).length, 1, result.stderr);
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('gridseam market import-awards', () => {
  let gateway: Gateway;
  let url: string;

  before(async () => {
    gateway = await startGateway(parseConfig(CONFIG, '/nonexistent/gateway.yaml'), {
      logger: createLogger({ level: 'silent' }),
    });
    url = gateway.address;
    const market = new MarketService({ store: gateway.store, registry: gateway.registry });
    await market.putAggregation(
      'agg-1',
      {
        id: 'agg-1',
        iso: 'CAISO',
        resourceId: 'CAISO_DERA_1',
        participationModel: 'DERA',
        pricingNodes: ['PN_A'],
        distributionFactors: [{ pnode: 'PN_A', factor: 1, validFrom: A - 10 * D }],
        members: [
          { deviceId: 'bat-1', siteId: 'site-1', capacityKw: 300, pnode: 'PN_A', validFrom: A - 10 * D },
          { deviceId: 'bat-2', siteId: 'site-1', capacityKw: 250, pnode: 'PN_A', validFrom: A - 10 * D },
        ],
        utility: { name: 'PG&E' },
        groupId: 'grp-agg',
        awardPrimacy: 140,
      },
      'test',
    );
    for (const state of ['utility-review', 'iso-review', 'active'] as const)
      await market.transition('agg-1', state, 'test');
  });

  after(async () => {
    await gateway.close();
  });

  test('a CSV file becomes market events; importing again updates them', async () => {
    const file = await temp.file('awards.csv', CSV);
    const env = { GRIDSEAM_TOKEN: OPERATOR };
    const first = await cli(['--file', file, '--url', url], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '');
    assert.match(
      first.stdout,
      /awards\.csv \(csv\): 3 award\(s\) for 1 aggregation\(s\); 2 event\(s\): 2 created, 0 updated/,
    );
    assert.match(first.stdout, /agg-1 \(CAISO_DERA_1\): 3 award\(s\) -> program market-awards\.agg-1/);
    assert.match(first.stdout, /group grp-agg/);

    const events: ProgramEvent[] = await gateway.store.events.list({ programId: 'market-awards.agg-1' });
    assert.equal(events.length, 2);
    for (const event of events) {
      assert.equal(event.source, 'market');
      assert.equal(event.primacy, 140);
      assert.deepEqual(event.targets, { groupIds: ['grp-agg'] });
    }
    const energy = events.find((e) => e.intervals.length === 2);
    assert.deepEqual(
      energy?.intervals.map((i) => [i.start, i.signals.find((s) => s.kind === 'fixedW')?.value]),
      [
        [A, 200_000],
        [A + H, 300_000],
      ],
    );

    // --json prints the gateway's answer; the same awards again: the same two events, updated.
    const again = await cli(['--file', file, '--url', `${url}/`, '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    const answer = JSON.parse(again.stdout) as AwardImport;
    assert.equal(answer.awards, 3);
    assert.deepEqual(
      answer.events.map((e) => [e.programId, e.created]),
      [
        ['market-awards.agg-1', false],
        ['market-awards.agg-1', false],
      ],
    );
    assert.deepEqual(answer.events.map((e) => e.id).sort(), events.map((e) => e.id).sort());
  });

  test('JSON by extension or by --format, the token from --token-env', async () => {
    const json = await temp.file('awards.json', JSON_AWARDS);
    const byExtension = await cli(['--file', json, '--url', url, '--token-env', 'OPS_TOKEN'], { OPS_TOKEN: OPERATOR });
    assert.equal(byExtension.code, 0, byExtension.stderr);
    assert.match(byExtension.stdout, /awards\.json \(json\): 3 award\(s\).*0 created, 2 updated/);
    const text = await temp.file('awards.txt', JSON_AWARDS);
    const byOption = await cli(['--file', text, '--format', 'json', '--url', url], { GRIDSEAM_TOKEN: OPERATOR });
    assert.equal(byOption.code, 0, byOption.stderr);
    assert.equal((await gateway.store.events.list({ programId: 'market-awards.agg-1' })).length, 2);
  });

  test("the gateway's refusals: one error line with its code", async () => {
    const file = await temp.file('awards.csv', CSV);
    // A viewer may not import: 403, exit 1.
    assertOneErrorLine(
      await cli(['--file', file, '--url', url], { GRIDSEAM_TOKEN: VIEWER }),
      1,
      /^error: the gateway refused the awards \(HTTP 403\): .* \[GW_ERR_FORBIDDEN\]$/m,
    );
    assertOneErrorLine(
      await cli(['--file', file, '--url', url], { GRIDSEAM_TOKEN: 'not-a-token' }),
      1,
      /\(HTTP 401\).*\[GW_ERR_UNAUTHORIZED\]/,
    );
    // An unknown resource and a NaN MW: the gateway's validation errors (fix the file: exit 2); nothing imported.
    const unknown = await temp.file('unknown.csv', CSV.replaceAll('CAISO_DERA_1', 'CAISO_DERA_9'));
    assertOneErrorLine(
      await cli(['--file', unknown, '--url', url], { GRIDSEAM_TOKEN: OPERATOR }),
      2,
      /\(HTTP 400\).*no aggregation has resource id CAISO_DERA_9.*\[GW_ERR_VALIDATION\]/,
    );
    const nan = await temp.file('nan.csv', CSV.replace(',0.3,', ',NaN,'));
    assertOneErrorLine(
      await cli(['--file', nan, '--url', url], { GRIDSEAM_TOKEN: OPERATOR }),
      2,
      /\(HTTP 400\).*\[GW_ERR_VALIDATION\]/,
    );
    assert.equal((await gateway.store.events.list({ programId: 'market-awards.agg-1' })).length, 2);
  });

  test('usage, file and connection problems', async () => {
    const file = await temp.file('awards.csv', CSV);
    // No environment given: the token variable is unset.
    const noToken = await runCliInProcess(['market', 'import-awards', '--file', file, '--url', url], {
      cwd: temp.dir(),
    });
    assertOneErrorLine(noToken, 2, /environment variable GRIDSEAM_TOKEN is not set.*\[GW_ERR_CONFIG\]/);
    const env = { GRIDSEAM_TOKEN: OPERATOR };
    assertOneErrorLine(await cli(['--url', url], env), 2, /required option '--file <file>'/);
    assertOneErrorLine(await cli(['--file', file, '--format', 'xml'], env), 2, /--format must be csv or json/);
    assertOneErrorLine(await cli(['--file', file, '--url', 'ftp://host/'], env), 2, /--url must use http or https/);
    assertOneErrorLine(
      await cli(['--file', file, '--url', 'http://user:pw@127.0.0.1:1'], env),
      2,
      /--url must not carry credentials/,
    );
    assertOneErrorLine(await cli(['--file', file, '--time-zone', 'Mars/Base'], env), 2, /--time-zone must be an IANA/);
    assertOneErrorLine(
      await cli(['--file', `${temp.dir()}/missing.csv`, '--url', url], env),
      2,
      /cannot read .*missing\.csv: ENOENT \[GW_ERR_VALIDATION\]/,
    );
    const big = await temp.file('big.csv', `${CSV}\n${'#'.repeat(1024 * 1024)}`);
    assertOneErrorLine(await cli(['--file', big, '--url', url], env), 2, /the limit is 1048576 bytes/);
    // Nothing listens on port 1: connection refused, exit 1.
    assertOneErrorLine(
      await cli(['--file', file, '--url', 'http://127.0.0.1:1'], env),
      1,
      /^error: cannot reach the gateway at http:\/\/127\.0\.0\.1:1\/api\/market\/awards: .*\[ECONNREFUSED\]$/m,
    );
  });

  test('the binary: import-awards --json through bin/gridseam.js', async () => {
    const file = await temp.file('awards.csv', CSV);
    const result = await runCli(['market', 'import-awards', '--file', file, '--url', url, '--json'], {
      cwd: temp.dir(),
      env: cleanEnv({ GRIDSEAM_TOKEN: OPERATOR }),
    });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as AwardImport;
    assert.deepEqual(
      [answer.awards, answer.aggregations.map((a) => a.aggregationId), answer.events.length],
      [3, ['agg-1'], 2],
    );
  });
});
