import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { planReads, readingsOf, readModels, scanSunSpec } from '../../src/device/index.ts';
import { FakeTransport } from './fake-transport.ts';
import { layDevice, rawModel } from './images.ts';

function rejectsWith(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

/** 1 (68 registers incl. ID and L) @40002, 103 (52) @40070, 701 (155) @40122, 704 (67) @40277, 713 (9) @40344. */
function sampleDevice(fake = new FakeTransport()) {
  const models = [
    rawModel(1, { Mn: 'Gridseam', Md: 'Sim', SN: 'SN-1' }),
    rawModel(103, {
      A: 195,
      AphA: 65,
      AphB: 66,
      AphC: 64,
      A_SF: -1,
      PhVphA: 2301,
      PhVphB: 2299,
      PhVphC: 2300,
      V_SF: -1,
      W: 4500,
      W_SF: 0,
      Hz: 5001,
      Hz_SF: -2,
      WH: 1234567,
      WH_SF: 1,
      TmpCab: 415,
      Tmp_SF: -1,
      St: 4,
      Evt1: 0,
    }),
    rawModel(701, {
      W: -1500,
      W_SF: 0,
      InvSt: 3,
      TmpCab: 300,
      Tmp_SF: -1,
      MnAlrmInfo: 'a text that spans the 125 cut',
    }),
    rawModel(704, { WMaxLimPctEna: 0, WMaxLimPct: 10000, WMaxLimPct_SF: -2, WMaxLimPctRvrtTms: 0 }),
    rawModel(713, { WHRtg: 100, WHAvail: 55, SoC: 550, SoH: 990, Sta: 0, WH_SF: 2, Pct_SF: -1 }),
  ];
  const starts = layDevice(fake, 40000, models);
  return { fake, starts };
}

describe('planReads', () => {
  it('packs adjacent models up to 125 registers and splits a longer model into consecutive chunks', () => {
    const requests = planReads([
      { id: 1, start: 40002, length: 66 },
      { id: 103, start: 40070, length: 50 },
      { id: 701, start: 40122, length: 153 },
      { id: 704, start: 40277, length: 65 },
      { id: 713, start: 40344, length: 7 },
    ]);
    assert.deepEqual(requests, [
      { address: 40002, count: 120 }, // 1 + 103
      { address: 40122, count: 125 }, // 701, first chunk
      { address: 40247, count: 106 }, // the rest of 701 (30), 704 (67) and 713 (9)
    ]);
  });

  it('reads a very long model in as many chunks as it takes; a tail too full for the next model stays alone', () => {
    const requests = planReads([
      { id: 64999, start: 0, length: 298 }, // 300 registers: 125 + 125 + 50
      { id: 1, start: 300, length: 66 }, // 68: 50 + 68 fits the tail
      { id: 705, start: 368, length: 100 }, // 102: does not fit after 118, starts its own
    ]);
    assert.deepEqual(requests, [
      { address: 0, count: 125 },
      { address: 125, count: 125 },
      { address: 250, count: 118 },
      { address: 368, count: 102 },
    ]);
    for (const r of requests) assert.ok(r.count <= 125);
  });

  it('never bridges a gap (a model not asked for) and honours a smaller limit', () => {
    const requests = planReads(
      [
        { id: 1, start: 40002, length: 66 },
        { id: 713, start: 40344, length: 7 },
      ],
      100,
    );
    assert.deepEqual(requests, [
      { address: 40002, count: 68 },
      { address: 40344, count: 9 },
    ]);
  });
});

describe('readModels', () => {
  it('reads with the planned requests only (nothing outside the announced models) and decodes each model', async () => {
    const { fake, starts } = sampleDevice();
    const scan = await scanSunSpec(fake, 1);
    assert.deepEqual(
      scan.models.map((m) => m.start),
      starts,
    );
    fake.requests.length = 0;
    const models = await readModels(fake, 1, scan);
    assert.deepEqual(
      fake.reads.map((r) => [r.address, r.count]),
      [
        [40002, 120],
        [40122, 125],
        [40247, 106],
      ],
    );
    for (const r of fake.reads) assert.ok(r.count <= 125);
    assert.deepEqual(
      models.map((m) => [m.id, m.start, m.length]),
      [
        [1, 40002, 66],
        [103, 40070, 50],
        [701, 40122, 153],
        [704, 40277, 65],
        [713, 40344, 7],
      ],
    );
    const m103 = models[1]!;
    assert.equal(m103.points.W, 4500);
    assert.equal(m103.points.PhVphA, 230.1);
    assert.equal(m103.points.Hz, 50.01);
    assert.equal(m103.points.WH, 12345670);
    assert.equal(m103.points.VA, null);
    // A string across the 125-register cut decodes from the reassembled block.
    assert.equal(models[2]!.points.MnAlrmInfo, 'a text that spans the 125 cut');
    assert.equal(models[2]!.points.TmpCab, 30);
    assert.equal(models[3]!.points.WMaxLimPct, 100);
    assert.equal(models[0]!.points.Mn, 'Gridseam');
  });

  it('reads only the ids asked for, each on its own when they are not adjacent', async () => {
    const { fake } = sampleDevice();
    const scan = await scanSunSpec(fake, 1);
    fake.requests.length = 0;
    const models = await readModels(fake, 1, scan, { ids: [103, 713] });
    assert.deepEqual(
      models.map((m) => m.id),
      [103, 713],
    );
    assert.deepEqual(
      fake.reads.map((r) => [r.address, r.count]),
      [
        [40070, 52],
        [40344, 9],
      ],
    );
  });

  it('skips a model the codec has no definition for, and does not read across it', async () => {
    const fake = new FakeTransport();
    const vendor = [64999, 4, 1, 2, 3, 4];
    layDevice(fake, 40000, [rawModel(1), vendor, rawModel(103, { W: 5, W_SF: 0 })]);
    const scan = await scanSunSpec(fake, 1);
    assert.deepEqual(
      scan.models.map((m) => m.id),
      [1, 64999, 103],
    );
    fake.requests.length = 0;
    const models = await readModels(fake, 1, scan);
    assert.deepEqual(
      models.map((m) => m.id),
      [1, 103],
    );
    assert.deepEqual(
      fake.reads.map((r) => [r.address, r.count]),
      [
        [40002, 68],
        [40076, 52],
      ],
    );
  });

  it('maps a polled device to canonical readings with hand-computed values', async () => {
    const { fake } = sampleDevice();
    const scan = await scanSunSpec(fake, 1);
    const readings = readingsOf('dev-1', await readModels(fake, 1, scan), 1000);
    const value = (measurand: string, phase?: string) =>
      readings.find((r) => r.measurand === measurand && r.phase === phase)?.value;
    assert.equal(value('activePower'), -1500, '701 W wins over 103 W');
    assert.equal(value('voltage', 'A'), 230.1, '701 VL1 unimplemented: 103 PhVphA x 10^-1');
    assert.equal(value('current', 'B'), 6.6);
    assert.equal(value('frequency'), 50.01);
    assert.equal(value('energyExported'), 12345670, '103 WH 1234567 x 10^1');
    assert.equal(value('temperature'), 30, '701 TmpCab 300 x 10^-1');
    assert.equal(value('stateOfCharge'), 55, '713 SoC 550 x 10^-1');
    assert.equal(value('stateOfHealth'), 99);
    assert.equal(value('availableEnergy'), 5500, '713 WHAvail 55 x 10^2');
    assert.equal(value('operatingState'), 'running');
    assert.equal(value('apparentPower'), undefined, 'unimplemented everywhere: absent');
  });

  it('says the register map changed when a model is no longer where the scan found it', async () => {
    const { fake } = sampleDevice();
    const scan = await scanSunSpec(fake, 1);
    fake.put(40070, [101]);
    await assert.rejects(
      readModels(fake, 1, scan, { ids: [103] }),
      rejectsWith('GW_ERR_DEVICE_PROTOCOL', /model 103 at 40070 now reads as id 101.*rescan/),
    );
  });

  it('turns a truncated response into GW_ERR_DEVICE_PROTOCOL with the place', async () => {
    const { fake } = sampleDevice();
    const scan = await scanSunSpec(fake, 1);
    fake.truncateBy = 3;
    await assert.rejects(
      readModels(fake, 1, scan),
      rejectsWith('GW_ERR_DEVICE_PROTOCOL', /read of 120 registers at 40002 returned 117 registers/),
    );
  });

  it('reports an exception on a model read with the request that failed', async () => {
    const { fake } = sampleDevice();
    const scan = await scanSunSpec(fake, 1);
    fake.failingReads.add(40247);
    await assert.rejects(
      readModels(fake, 1, scan),
      rejectsWith('GW_ERR_DEVICE_REJECTED', /reading 106 registers at 40247: Modbus exception 4/),
    );
  });

  it('decodes what fits of a model whose L is shorter than its definition, with a warning', async () => {
    const fake = new FakeTransport();
    const full = rawModel(103, { A: 10, A_SF: 0, W: 700, W_SF: 0 });
    const short = [103, 5, ...full.slice(2, 7)]; // L = 5: A..A_SF only
    layDevice(fake, 40000, [rawModel(1), short]);
    const scan = await scanSunSpec(fake, 1);
    const [m103] = await readModels(fake, 1, scan, { ids: [103] });
    assert.ok(m103);
    assert.equal(m103.points.A, 10);
    assert.ok(m103.warnings.length > 0, 'the length mismatch is reported');
    const readings = readingsOf('d', [m103], 0);
    assert.equal(
      readings.find((r) => r.measurand === 'activePower'),
      undefined,
      'W was cut off: absent, not 0',
    );
    assert.equal(readings.find((r) => r.measurand === 'current')?.value, 10);
  });

  it('fails cleanly when the device announces a length its registers do not back (exception 2 inside)', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [rawModel(1)], 'none');
    fake.put(40070, [103, 50, 1, 2, 3]); // announces 50 registers, maps 3
    const scan = await scanSunSpec(fake, 1);
    assert.deepEqual(
      scan.models.map((m) => m.id),
      [1, 103],
    );
    await assert.rejects(
      readModels(fake, 1, scan, { ids: [103] }),
      rejectsWith('GW_ERR_DEVICE_REJECTED', /reading 52 registers at 40070/),
    );
  });
});
