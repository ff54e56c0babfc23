/**
 * `gridseam sunspec scan|set` and `gridseam sim sunspec`, run as the real command
 * (node packages/gateway/bin/gridseam.js ...) against simulators on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { ModbusTcpServer, SunSpecSimulator } from '@gridseam/sunspec';
import { binPath, cleanEnv, repoRoot, runCli } from './helpers.ts';

interface ScanJson {
  models: Array<{
    id: number;
    name: string;
    start: number;
    length: number;
    points: Record<string, unknown>;
    groups: Record<string, Array<{ points: Record<string, unknown>; groups: Record<string, unknown> }>>;
  }>;
}

const cwd = tmpdir();

function cli(args: string[]) {
  return runCli(args, { cwd, env: cleanEnv() });
}

async function scan(port: number, unit = 1): Promise<ScanJson> {
  const result = await cli([
    'sunspec',
    'scan',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--unit',
    String(unit),
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as ScanJson;
}

function model(json: ScanJson, id: number) {
  const found = json.models.find((m) => m.id === id);
  assert.ok(found, `model ${id} in the scan`);
  return found;
}

describe('gridseam sunspec', () => {
  let simulator: SunSpecSimulator;
  let port: number;
  // A device that acknowledges writes but keeps its registers: every read-back differs.
  let deaf: ModbusTcpServer;
  let deafPort: number;

  before(async () => {
    simulator = new SunSpecSimulator({ port: 0, profile: 'battery,pv-inverter', count: 2 });
    ({ port } = await simulator.start());
    const image = new SunSpecSimulator({ port: 0, profile: 'battery', count: 1 });
    deaf = new ModbusTcpServer({
      port: 0,
      handler: {
        hasUnit: (unit) => unit === 1,
        readHoldingRegisters: (_unit, address, count) => image.unit(1).map.read(address, count),
        writeRegisters: () => undefined,
      },
    });
    ({ port: deafPort } = await deaf.listen());
  });

  after(async () => {
    await simulator?.stop();
    await deaf?.close();
  });

  test('scan --json prints one object with every model decoded', async () => {
    const json = await scan(port);
    assert.deepEqual(
      json.models.map((m) => m.id),
      [1, 701, 702, 704, 713, 802, 124],
    );
    const common = model(json, 1);
    assert.deepEqual(
      { id: common.id, name: common.name, start: common.start, length: common.length },
      { id: 1, name: 'common', start: 40002, length: 66 },
    );
    assert.equal(common.points.Mn, 'Gridseam');
    assert.equal(common.points.Md, 'SimBattery');
    assert.match(String(common.points.SN), /^SIMBAT-0+1$/);
    assert.equal(common.points.Pad, null, 'unimplemented is null');

    const measure = model(json, 701);
    assert.equal(measure.start, 40070);
    assert.equal(measure.points.W_SF, 0, 'scale factors keep their raw value');
    assert.equal(measure.points.A_SF, -2);
    assert.equal(measure.points.LNV, 230, 'values are scaled');
    const controls = model(json, 704);
    assert.ok(Array.isArray(controls.groups.PFWInj) && controls.groups.PFWInj.length === 1);
    assert.ok('PF' in (controls.groups.PFWInj[0]?.points ?? {}));
    assert.equal(model(json, 713).points.WHRtg, 10000);

    const inverter = await scan(port, 2);
    assert.match(String(model(inverter, 1).points.Md), /^SimPV/);
  });

  test('scan without --json prints a table per model', async () => {
    const result = await cli(['sunspec', 'scan', '--host', '127.0.0.1', '--port', String(port)]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^model 1 common: start 40002, length 66$/m);
    assert.match(result.stdout, /^Md\s+SimBattery$/m);
    assert.match(result.stdout, /^model 704 DERCtlAC: start \d+, length \d+$/m);
    assert.match(result.stdout, /^PFWInj\.PF\s+\S+/m);
  });

  test('set writes scaled values, reads them back and prints them confirmed; a scan then shows them', async () => {
    const result = await cli([
      'sunspec',
      'set',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '704.WMaxLimPct=50',
      '704.PFWInj.PF=0.95',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^704\.WMaxLimPct\s+50\s+Pct\s+confirmed$/m);
    assert.match(result.stdout, /^704\.PFWInj\.PF\s+0\.95\s+confirmed$/m);
    const controls = model(await scan(port), 704);
    assert.equal(controls.points.WMaxLimPct, 50);
    assert.equal(controls.groups.PFWInj?.[0]?.points.PF, 0.95);
  });

  test('usage errors exit 2 and write nothing: read-only point, unknown point or model, out of range', async () => {
    const before = model(await scan(port), 704).points.WMaxLimPct;
    const cases: Array<[string[], RegExp]> = [
      [['701.W=5'], /701 \(DERMeasureAC\) path 'W': the point is read-only/],
      [['704.NoSuchPoint=1'], /no point 'NoSuchPoint'/],
      [['999.W=1'], /model 999 is not on the device/],
      [['704.WMaxLimPct=70000'], /outside 0\.\.65535/],
      [['704.WMaxLimPct=fifty'], /'fifty' is not a number/],
      [['WMaxLimPct'], /is not MODEL\.POINT=VALUE/],
      // A valid write before a bad one: nothing is written.
      [['704.WMaxLimPct=10', '701.W=5'], /read-only/],
    ];
    const results = await Promise.all(
      cases.map(([assignments]) =>
        cli(['sunspec', 'set', '--host', '127.0.0.1', '--port', String(port), ...assignments]),
      ),
    );
    results.forEach((result, i) => {
      const [assignments, message] = cases[i]!;
      assert.equal(result.code, 2, `${assignments.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    });
    assert.equal(model(await scan(port), 704).points.WMaxLimPct, before);
    const missing = await cli(['sunspec', 'set', '--port', String(port), '704.WMaxLimPct=1']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--host/);
  });

  test('set exits 1 when the read-back differs, naming the point', async () => {
    const result = await cli([
      'sunspec',
      'set',
      '--host',
      '127.0.0.1',
      '--port',
      String(deafPort),
      '704.WMaxLimPct=42',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^704\.WMaxLimPct\s+100\s+Pct\s+DIFFERS \(wrote 42\)$/m);
    assert.match(result.stderr, /read-back differs: 704\.WMaxLimPct wrote 42, reads 100/);
  });

  test('scan of an address without a device exits 1 with the transport error', async () => {
    const result = await cli(['sunspec', 'scan', '--host', '127.0.0.1', '--port', String(port), '--unit', '9']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /GW_ERR_DEVICE_UNREACHABLE/);
  });
});

describe('gridseam sim sunspec', () => {
  test('serves the profile until SIGTERM, then exits 0', async () => {
    const child = spawn(
      process.execPath,
      [binPath, 'sim', 'sunspec', '--port', '0', '--profile', 'hybrid', '--count', '3', '--speed', '10'],
      { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const match = /^sunspec simulator: .*$/m.exec(stdout);
          if (match) resolve(match[0]);
        });
        void exited.then((code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
      });
      assert.match(line, /3 hybrid units on 127\.0\.0\.1:\d+/);
      const served = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
      assert.equal(model(await scan(served, 3), 1).points.Md, 'SimHybrid');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /sunspec simulator stopped \(SIGTERM\)/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('an unknown profile is a usage error (exit 2)', async () => {
    const result = await cli(['sim', 'sunspec', '--port', '0', '--profile', 'toaster']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--profile must be one of pv-inverter, battery, hybrid, meter, legacy-inverter/);
  });
});
