import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeModel, encodePointWrite, getModelDefinition } from '../../src/codec/index.ts';
import { openModbusTcp } from '../../src/modbus/client.ts';
import type { ModbusTransport } from '../../src/modbus/transport.ts';
import { Battery, runSunSpecSimulatorCli, SunSpecSimulator } from '../../src/simulator/index.ts';
import { HOUR, NOON } from './helpers.ts';

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const o of open.reverse()) await o.close();
});

async function startSim(options: ConstructorParameters<typeof SunSpecSimulator>[0]): Promise<SunSpecSimulator> {
  const sim = new SunSpecSimulator(options);
  await sim.start();
  open.push({ close: () => sim.stop() });
  return sim;
}

async function client(port: number): Promise<ModbusTransport> {
  const transport = await openModbusTcp({ host: '127.0.0.1', port, timeoutMs: 2000, retries: 0 });
  open.push(transport);
  return transport;
}

async function readModel(t: ModbusTransport, unit: number, start: number) {
  const [id, length] = await t.readHoldingRegisters(unit, start, 2);
  const def = getModelDefinition(id!);
  assert.ok(def, `model ${id}`);
  const block = new Uint16Array(length! + 2);
  for (let offset = 0; offset < block.length; offset += 125) {
    const count = Math.min(125, block.length - offset);
    block.set(await t.readHoldingRegisters(unit, start + offset, count), offset);
  }
  return decodeModel(def, block, { start });
}

async function walk(t: ModbusTransport, unit: number, base: number): Promise<{ id: number; start: number }[]> {
  const chain: { id: number; start: number }[] = [];
  for (let address = base + 2; ; ) {
    const [id, length] = await t.readHoldingRegisters(unit, address, 2);
    if (id === 0xffff) return chain;
    chain.push({ id: id!, start: address });
    address += length! + 2;
  }
}

/** A Modbus exception response; the transport reports 10 and 11 (gateway: unit absent) as unreachable. */
function rejectedWith(code: number) {
  return (error: unknown): boolean => {
    const e = error as { code?: string; details?: { modbusException?: number } };
    assert.equal(e.code, code === 11 ? 'GW_ERR_DEVICE_UNREACHABLE' : 'GW_ERR_DEVICE_REJECTED');
    assert.equal(e.details?.modbusException, code);
    return true;
  };
}

describe('simulator over Modbus TCP', () => {
  test('reads SunS and a model, writes a control and reads it back', async () => {
    const now = 0;
    const sim = await startSim({ port: 0, profile: 'pv-inverter', clock: () => now, startTime: NOON });
    const t = await client(sim.ports[0]!);
    assert.deepEqual([...(await t.readHoldingRegisters(1, 40000, 2))], [0x5375, 0x6e53]);
    const chain = await walk(t, 1, 40000);
    assert.deepEqual(
      chain.map((m) => m.id),
      [1, 103, 120, 123, 701, 702, 704],
    );
    const common = await readModel(t, 1, 40002);
    assert.equal(common.points.Mn, 'Gridseam');
    assert.equal(common.points.SN, 'SIMPV-000001');

    const start704 = chain.find((m) => m.id === 704)!.start;
    const ctl = await readModel(t, 1, start704);
    for (const [path, value] of [
      ['WMaxLimPct', 25],
      ['WMaxLimPctEna', 1],
    ] as const) {
      const w = encodePointWrite(getModelDefinition(704)!, ctl, path, value);
      await t.writeRegisters(1, start704 + w.offset, w.registers);
    }
    const back = await readModel(t, 1, start704);
    assert.equal(back.points.WMaxLimPct, 25);
    assert.equal(back.points.WMaxLimPctEna, 1);
    const start103 = chain.find((m) => m.id === 103)!.start;
    assert.equal((await readModel(t, 1, start103)).points.W, 2500, 'the limit acts');

    // Read-only register and out-of-range value over the wire.
    await assert.rejects(t.writeRegisters(1, start103 + 14, [1]), rejectedWith(2));
    const w = encodePointWrite(getModelDefinition(704)!, ctl, 'WMaxLimPctEna', 1);
    await assert.rejects(t.writeRegisters(1, start704 + w.offset, [9]), rejectedWith(3));
    await assert.rejects(t.readHoldingRegisters(1, 39000, 2), rejectedWith(2));
  });

  test('count 3: unit ids 1..3 answer, id 4 gets exception 11', async () => {
    const sim = await startSim({ port: 0, profile: 'battery', count: 3, startTime: NOON });
    const t = await client(sim.ports[0]!);
    for (const unit of [1, 2, 3]) {
      assert.deepEqual([...(await t.readHoldingRegisters(unit, 40000, 2))], [0x5375, 0x6e53]);
      const common = await readModel(t, unit, 40002);
      assert.equal(common.points.SN, `SIMBAT-00000${unit}`);
      assert.equal(common.points.DA, unit);
    }
    await assert.rejects(t.readHoldingRegisters(4, 40000, 2), rejectedWith(11));
    await assert.rejects(t.writeRegisters(4, 40000, [0]), rejectedWith(11));
    await assert.rejects(t.readHoldingRegisters(0, 40000, 2), rejectedWith(11));
  });

  test('physics advance lazily with the clock and speed, per request', async () => {
    let now = 1_000;
    const sim = await startSim({
      port: 0,
      profile: 'battery',
      clock: () => now,
      startTime: NOON,
      speed: 60,
      physics: { initialSocPct: 50 },
    });
    const t = await client(sim.ports[0]!);
    const chain = await walk(t, 1, 40000);
    const start704 = chain.find((m) => m.id === 704)!.start;
    const start802 = chain.find((m) => m.id === 802)!.start;
    let ctl = await readModel(t, 1, start704);
    const wset = encodePointWrite(getModelDefinition(704)!, ctl, 'WSet', -2000);
    await t.writeRegisters(1, start704 + wset.offset, wset.registers);
    ctl = await readModel(t, 1, start704);
    const ena = encodePointWrite(getModelDefinition(704)!, ctl, 'WSetEna', 1);
    await t.writeRegisters(1, start704 + ena.offset, ena.registers);
    assert.equal((await readModel(t, 1, start802)).points.SoC, 50);
    now += 60_000; // one real minute = one simulated hour at speed 60
    assert.equal(sim.simTime(), NOON + HOUR);
    const battery = await readModel(t, 1, start802);
    const expected = 50 + (2000 * Math.sqrt(0.9) * 100) / 10_000;
    assert.equal(battery.points.SoC, Math.round(expected * 10) / 10);
    assert.equal(battery.points.W, -2000);
    const unit = sim.unit(1);
    assert.ok(unit instanceof Battery);
    assert.ok(Math.abs(unit.socPct - expected) < 1e-9);
  });

  test('bases 0 and 50000; a map without end marker answers exception 2 at its end', async () => {
    for (const base of [0, 50000]) {
      const sim = await startSim({ port: 0, profile: 'meter', base });
      const t = await client(sim.ports[0]!);
      await assert.rejects(t.readHoldingRegisters(1, 40000, 2), rejectedWith(2));
      assert.deepEqual([...(await t.readHoldingRegisters(1, base, 2))], [0x5375, 0x6e53]);
      assert.deepEqual(
        (await walk(t, 1, base)).map((m) => m.id),
        [1, 203],
      );
    }
    const sim = await startSim({ port: 0, profile: 'meter', endMarker: false });
    const t = await client(sim.ports[0]!);
    const [, length203] = await t.readHoldingRegisters(1, 40070, 2);
    assert.equal(length203, 105);
    await assert.rejects(t.readHoldingRegisters(1, 40070 + 105 + 2, 2), rejectedWith(2));
  });

  test('more than 247 units spread over several ports', async () => {
    const sim = await startSim({ port: 0, profile: 'meter', count: 250 });
    assert.equal(sim.ports.length, 2);
    const second = await client(sim.ports[1]!);
    const common = await readModel(second, 3, 40002);
    assert.equal(common.points.SN, 'SIMMTR-000250');
    await assert.rejects(second.readHoldingRegisters(4, 40000, 2), rejectedWith(11));
    const first = await client(sim.ports[0]!);
    assert.equal((await readModel(first, 247, 40002)).points.SN, 'SIMMTR-000247');
  });

  test('runSunSpecSimulatorCli starts the simulator and prints what it serves', async () => {
    const lines: string[] = [];
    const running = await runSunSpecSimulatorCli(
      { host: '127.0.0.1', port: 0, profile: 'battery', count: 2, speed: 10 },
      (line) => lines.push(line),
    );
    open.push({ close: () => running.stop() });
    assert.equal(lines.length, 1);
    assert.equal(lines[0], `sunspec simulator: 2 battery units on 127.0.0.1:${running.port} (base 40000, speed x10)`);
    const t = await client(running.port);
    assert.deepEqual([...(await t.readHoldingRegisters(2, 40000, 2))], [0x5375, 0x6e53]);
    await assert.rejects(
      runSunSpecSimulatorCli({ host: '127.0.0.1', port: 0, profile: 'inverter', count: 1, speed: 1 }, () => {}),
      { code: 'GW_ERR_VALIDATION' },
    );
  });
});
