import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { scanSunSpec } from '../../src/device/index.ts';
import { FakeTransport } from './fake-transport.ts';
import { layDevice, rawModel } from './images.ts';

const common = () => rawModel(1, { Mn: 'Gridseam', Md: 'Test', SN: '42' });
const inverter = () => rawModel(103, { W: 1000, W_SF: 0 });

function rejectsWith(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

describe('scanSunSpec: base discovery', () => {
  it('finds a device at 40000 and walks the chain to the end marker', async () => {
    const fake = new FakeTransport();
    const starts = layDevice(fake, 40000, [common(), inverter()]);
    const scan = await scanSunSpec(fake, 1);
    assert.equal(scan.base, 40000);
    assert.deepEqual(scan.models, [
      { id: 1, start: 40002, length: 66 },
      { id: 103, start: 40070, length: 50 },
    ]);
    assert.deepEqual(starts, [40002, 40070]);
    assert.equal(scan.endMarker, true);
    assert.deepEqual(scan.warnings, []);
    // The marker probe, then one ID+L read per model and one for the end model; nothing else.
    assert.deepEqual(
      fake.reads.map((r) => [r.address, r.count]),
      [
        [40000, 2],
        [40002, 2],
        [40070, 2],
        [40122, 2],
      ],
    );
  });

  it('falls back to base 0 when 40000 answers exception 2', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 0, [common(), inverter()]);
    const scan = await scanSunSpec(fake, 1);
    assert.equal(scan.base, 0);
    assert.deepEqual(
      scan.models.map((m) => [m.id, m.start]),
      [
        [1, 2],
        [103, 70],
      ],
    );
    assert.deepEqual(
      fake.reads.slice(0, 2).map((r) => r.address),
      [40000, 0],
    );
  });

  it('falls back to 50000 when 40000 holds other data and 0 answers an exception', async () => {
    const fake = new FakeTransport();
    fake.put(40000, [0x1234, 0x5678]); // mapped, but not 'SunS'
    layDevice(fake, 50000, [common(), inverter()]);
    const scan = await scanSunSpec(fake, 1);
    assert.equal(scan.base, 50000);
    assert.equal(scan.models[1]?.start, 50070);
    assert.deepEqual(
      fake.reads.slice(0, 3).map((r) => r.address),
      [40000, 0, 50000],
    );
  });

  it('honours an explicit list of bases', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 1000, [common()]);
    const scan = await scanSunSpec(fake, 1, { bases: [1000] });
    assert.equal(scan.base, 1000);
    assert.equal(fake.reads[0]?.address, 1000);
  });

  it('says GW_ERR_NOT_SUPPORTED "not a SunSpec device" when no base holds SunS', async () => {
    const fake = new FakeTransport();
    fake.put(40000, [0x5375, 0x6e54]); // one bit off
    fake.put(0, [0, 0]);
    await assert.rejects(scanSunSpec(fake, 1), rejectsWith('GW_ERR_NOT_SUPPORTED', /not a SunSpec device/));
    assert.deepEqual(
      fake.reads.map((r) => r.address),
      [40000, 0, 50000],
    );
  });

  it('does not probe on when the device is unreachable', async () => {
    const fake = new FakeTransport(1);
    await assert.rejects(scanSunSpec(fake, 7), rejectsWith('GW_ERR_DEVICE_UNREACHABLE'));
    assert.equal(fake.reads.length, 1);
  });
});

describe('scanSunSpec: the end of the chain', () => {
  it('accepts an end model without L (reads ID alone when the pair fails)', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [common(), inverter()], 'marker-without-length');
    const scan = await scanSunSpec(fake, 1);
    assert.equal(scan.endMarker, true);
    assert.equal(scan.models.length, 2);
    assert.deepEqual(fake.reads.slice(-2), [
      { fc: 3, unit: 1, address: 40122, count: 2 },
      { fc: 3, unit: 1, address: 40122, count: 1 },
    ]);
  });

  it('ends gracefully on exception 2 past the last model (no end marker)', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [common(), inverter()], 'none');
    const scan = await scanSunSpec(fake, 1);
    assert.equal(scan.endMarker, false);
    assert.deepEqual(
      scan.models.map((m) => m.id),
      [1, 103],
    );
    assert.equal(scan.warnings.length, 1);
    assert.match(scan.warnings[0]!, /no end marker: exception 2 at 40122/);
  });

  it('ends on garbage past the last model (ID 0)', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [common(), inverter()], 'none');
    fake.put(40122, [0, 0, 0, 0]);
    const scan = await scanSunSpec(fake, 1);
    assert.equal(scan.endMarker, false);
    assert.equal(scan.models.length, 2);
    assert.match(scan.warnings[0]!, /unexpected register values at 40122/);
  });

  it('stops with a warning on a length that would overrun the 16-bit address space', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [common()], 'none');
    fake.put(40070, [103, 30000]); // 40072 + 30000 > 0xFFFF
    const scan = await scanSunSpec(fake, 1);
    assert.deepEqual(
      scan.models.map((m) => m.id),
      [1],
    );
    assert.equal(scan.endMarker, false);
    assert.match(scan.warnings[0]!, /model 103 at 40070 declares length 30000, which overruns the address space/);
  });

  it('stops when the chain reaches the top of the address space without an end marker', async () => {
    const fake = new FakeTransport();
    fake.put(50000, [0x5375, 0x6e53]);
    // Vendor model 64999 (no definition needed to walk) filling the space up to 0xFFFF exactly.
    const length = 0xffff - 50004 + 1;
    fake.put(50002, [64999, length]);
    fake.put(50004, new Array<number>(length).fill(0));
    const scan = await scanSunSpec(fake, 1, { bases: [50000] });
    assert.deepEqual(scan.models, [{ id: 64999, start: 50002, length }]);
    assert.equal(scan.endMarker, false);
    assert.match(scan.warnings[0]!, /runs past address 65535/);
  });

  it('reports a truncated response as GW_ERR_DEVICE_PROTOCOL, not a crash', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [common()]);
    fake.truncateBy = 1;
    await assert.rejects(scanSunSpec(fake, 1), rejectsWith('GW_ERR_DEVICE_PROTOCOL', /returned 1 registers/));
  });

  it('fails the scan on another exception mid-walk (4, device failure) rather than cutting the list short', async () => {
    const fake = new FakeTransport();
    layDevice(fake, 40000, [common(), inverter()]);
    fake.failingReads.add(40070);
    await assert.rejects(
      scanSunSpec(fake, 1),
      rejectsWith('GW_ERR_DEVICE_REJECTED', /reading the model header at 40070: Modbus exception 4/),
    );
  });
});
