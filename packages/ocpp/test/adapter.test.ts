import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError, type Reading, type Setpoint } from '@gridseam/model';
import { type ChargerControl, OcppChargerAdapter, OcppChargers } from '../src/adapter.ts';
import type { ChargingLimit, ChargingSession, CommandOptions, LimitOutcome, StationInfo } from '../src/contract.ts';

const DEFAULTS = { maxCurrentA: 32, phases: 3, voltage: 230 } as const;

/** Records the limits sent; answers with the limit itself unless told otherwise. */
class FakeControl implements ChargerControl {
  readonly sent: Array<{ identity: string; limit: ChargingLimit; options: CommandOptions | undefined }> = [];
  answer: (limit: ChargingLimit) => Promise<LimitOutcome> = async (limit) => ({
    readBack: limit.value,
    profileId: 7,
    detail: 'composite confirms',
  });

  setChargingLimit(identity: string, limit: ChargingLimit, options?: CommandOptions): Promise<LimitOutcome> {
    this.sent.push({ identity, limit, options });
    return this.answer(limit);
  }
}

function setpoint(patch: Partial<Setpoint>): Setpoint {
  return {
    id: 'sp-1',
    deviceId: 'charger-1',
    kind: 'evChargingLimit',
    value: 7000,
    start: 1_000_000,
    expiry: 1_900_000,
    source: { kind: 'operator' },
    ...patch,
  };
}

function reading(identity: string, ts: number, value: number): Reading {
  return { deviceId: identity, ts, measurand: 'activePower', value, unit: 'W' };
}

const BOOTED: StationInfo = {
  identity: 'CP-1',
  version: '2.0.1',
  vendor: 'Acme',
  model: 'Wallbox 22',
  serial: 'SN-9',
  firmware: '1.2.3',
  evses: [{ evseId: 1 }, { evseId: 2, maxCurrentA: 16 }],
};

describe('OcppChargerAdapter', () => {
  test('poll: unreachable while the station is not connected, then the buffered readings and the state', async () => {
    const chargers = new OcppChargers();
    const adapter = chargers.add({ deviceId: 'charger-1', identity: 'CP-1', defaults: DEFAULTS });
    await assert.rejects(adapter.poll(1), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_DEVICE_UNREACHABLE');
      assert.equal(error.retryable, true);
      return true;
    });
    chargers.connected('CP-1', '1.6');
    chargers.readings('CP-1', [reading('CP-1', 10, -7000), reading('CP-1', 20, -6900)]);
    chargers.status('CP-1', 1, 'Charging', 15);
    const polled = await adapter.poll(30);
    assert.deepEqual(
      polled.filter((r) => r.measurand === 'activePower').map((r) => [r.deviceId, r.ts, r.value]),
      [
        ['charger-1', 10, -7000],
        ['charger-1', 20, -6900],
      ],
    );
    const state = polled.find((r) => r.measurand === 'operatingState');
    assert.deepEqual(state, {
      deviceId: 'charger-1',
      ts: 30,
      measurand: 'operatingState',
      value: 'charging',
      unit: 'state',
    });
    // Drained, and the state unchanged since the last poll: nothing new.
    assert.deepEqual(await adapter.poll(40), []);
    // Readings that arrive before a disconnect wait for the next successful poll.
    chargers.readings('CP-1', [reading('CP-1', 50, -100)]);
    chargers.disconnected('CP-1');
    await assert.rejects(adapter.poll(60), /not connected/);
    chargers.connected('CP-1', '1.6');
    assert.deepEqual(
      (await adapter.poll(70)).filter((r) => r.measurand === 'activePower').map((r) => r.ts),
      [50],
    );
  });

  test('poll: the operating state when it changes, else once it is stateRefreshMs old; always after a reconnect', async () => {
    const adapter = new OcppChargerAdapter({
      deviceId: 'charger-1',
      identity: 'CP-1',
      control: new FakeControl(),
      defaults: DEFAULTS,
      stateRefreshMs: 1_000,
    });
    const states = async (at: number) =>
      (await adapter.poll(at)).filter((r) => r.measurand === 'operatingState').map((r) => [r.ts, r.value]);
    adapter.onConnected('1.6');
    // No status yet: no state to report.
    assert.deepEqual(await states(0), []);
    adapter.onStatus(1, 'Available');
    assert.deepEqual(await states(100), [[100, 'idle']]);
    // Unchanged: left out until the refresh is due (1,000 ms after the one polled at 100).
    assert.deepEqual(await states(200), []);
    assert.deepEqual(await states(1_099), []);
    assert.deepEqual(await states(1_100), [[1_100, 'idle']]);
    assert.deepEqual(await states(1_200), []);
    // A change is in the next poll, whatever the refresh; a status that maps to the same state is no change.
    adapter.onStatus(1, 'Charging');
    assert.deepEqual(await states(1_300), [[1_300, 'charging']]);
    adapter.onStatus(1, 'Charging');
    assert.deepEqual(await states(1_400), []);
    adapter.onStatus(1, 'SuspendedEV');
    adapter.onStatus(1, 'Finishing'); // standby as well: one change between the polls
    assert.deepEqual(await states(1_500), [[1_500, 'standby']]);
    // Back to the state before: a change again.
    adapter.onStatus(1, 'Charging');
    assert.deepEqual(await states(1_600), [[1_600, 'charging']]);
    // A clock that went back repeats the state rather than waiting for it to catch up.
    assert.deepEqual(await states(900), [[900, 'charging']]);
    // Away and back with the same status: the first poll after the reconnect carries the state.
    adapter.onDisconnected();
    adapter.onConnected('1.6');
    assert.deepEqual(await states(1_000), [[1_000, 'charging']]);
    assert.deepEqual(await states(1_100), []);
    // Readings that arrived still come through while the state is left out.
    adapter.onReadings([reading('CP-1', 1_150, -7_000)]);
    assert.deepEqual(
      (await adapter.poll(1_200)).map((r) => r.measurand),
      ['activePower'],
    );
  });

  test('poll: stateRefreshMs 0 repeats the state every poll; the default keeps it for a minute; bad values refused', async () => {
    const every = new OcppChargerAdapter({
      deviceId: 'charger-1',
      identity: 'CP-1',
      control: new FakeControl(),
      defaults: DEFAULTS,
      stateRefreshMs: 0,
    });
    every.onConnected('2.0.1');
    every.onStatus(0, 'Unavailable');
    for (const at of [10, 10, 20])
      assert.deepEqual(
        (await every.poll(at)).map((r) => [r.ts, r.value]),
        [[at, 'unavailable']],
      );

    const chargers = new OcppChargers();
    const byDefault = chargers.add({ deviceId: 'charger-2', identity: 'CP-2', defaults: DEFAULTS });
    chargers.connected('CP-2', '2.0.1');
    chargers.status('CP-2', 1, 'Occupied', 0);
    const polls: number[] = [];
    // Every 10 s for three minutes: the unchanged state at 0, 60 s, 120 s and 180 s only.
    for (let at = 0; at <= 180_000; at += 10_000)
      if ((await byDefault.poll(at)).some((r) => r.measurand === 'operatingState')) polls.push(at);
    assert.deepEqual(polls, [0, 60_000, 120_000, 180_000]);

    for (const stateRefreshMs of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(
        () =>
          new OcppChargerAdapter({
            deviceId: 'charger-3',
            identity: 'CP-3',
            control: new FakeControl(),
            defaults: DEFAULTS,
            stateRefreshMs,
          }),
        (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION',
      );
  });

  test('the buffer is bounded: the oldest readings are dropped and counted', async () => {
    const adapter = new OcppChargerAdapter({
      deviceId: 'charger-1',
      identity: 'CP-1',
      control: new FakeControl(),
      defaults: DEFAULTS,
      maxBufferedReadings: 3,
    });
    adapter.onConnected('2.0.1');
    adapter.onReadings([1, 2, 3, 4, 5].map((ts) => reading('CP-1', ts, ts)));
    assert.deepEqual(adapter.stats(), {
      connected: true,
      version: '2.0.1',
      booted: false,
      buffered: 3,
      droppedReadings: 2,
    });
    assert.deepEqual(
      (await adapter.poll(9)).map((r) => r.ts),
      [3, 4, 5],
    );
  });

  test('describe: as configured before boot, from the station after it', async () => {
    const adapter = new OcppChargerAdapter({
      deviceId: 'charger-1',
      identity: 'CP-1',
      control: new FakeControl(),
      defaults: DEFAULTS,
      maxCurrentA: 16,
      phases: 1,
      evses: 1,
    });
    const before = await adapter.describe();
    assert.equal(before.class, 'ev-charger');
    assert.equal(before.manufacturer, undefined);
    assert.equal(before.capabilities.ev?.maxCurrentA, 16);
    assert.equal(before.capabilities.ev?.phases, 1);
    assert.equal(before.capabilities.ev?.connectors, 1);
    assert.equal(before.capabilities.ratings?.maxW, 16 * 230);
    assert.ok(before.capabilities.controls.includes('evChargingLimit'));

    adapter.onBooted(BOOTED);
    const after = await adapter.describe();
    assert.equal(after.manufacturer, 'Acme');
    assert.equal(after.model, 'Wallbox 22');
    assert.equal(after.serial, 'SN-9');
    assert.equal(after.firmware, '1.2.3');
    assert.equal(after.capabilities.ev?.connectors, 2);
  });

  test('apply: evChargingLimit in W or A and loadLimit in W become a limit on the control EVSE, queued to expiry', async () => {
    const control = new FakeControl();
    const adapter = new OcppChargerAdapter({
      deviceId: 'charger-1',
      identity: 'CP-1',
      control,
      defaults: DEFAULTS,
      now: () => 1_234,
    });
    const watts = await adapter.apply(setpoint({}));
    assert.deepEqual(watts.readBack, { at: 1_234, value: 7000 });
    assert.match(watts.detail ?? '', /profile 7 on evse 0/);
    const amps = await adapter.apply(setpoint({ value: 10, unit: 'A' }));
    assert.equal(amps.readBack.value, 10);
    await adapter.apply(setpoint({ kind: 'loadLimit', value: 3000 }));
    assert.deepEqual(
      control.sent.map(({ identity, limit, options }) => [identity, limit, options]),
      [
        ['CP-1', { evseId: 0, value: 7000, unit: 'W', start: 1_000_000, expiry: 1_900_000 }, { queueUntil: 1_900_000 }],
        ['CP-1', { evseId: 0, value: 10, unit: 'A', start: 1_000_000, expiry: 1_900_000 }, { queueUntil: 1_900_000 }],
        ['CP-1', { evseId: 0, value: 3000, unit: 'W', start: 1_000_000, expiry: 1_900_000 }, { queueUntil: 1_900_000 }],
      ],
    );

    const onEvse = new OcppChargerAdapter({
      deviceId: 'charger-2',
      identity: 'CP-2',
      control,
      defaults: DEFAULTS,
      controlEvseId: 2,
    });
    await onEvse.apply(setpoint({}));
    assert.equal(control.sent.at(-1)?.limit.evseId, 2);
  });

  test('apply: other kinds are not supported; the CSMS errors pass through', async () => {
    const control = new FakeControl();
    const adapter = new OcppChargerAdapter({ deviceId: 'charger-1', identity: 'CP-1', control, defaults: DEFAULTS });
    await assert.rejects(adapter.apply(setpoint({ kind: 'exportLimit' })), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_NOT_SUPPORTED');
      return true;
    });
    assert.equal(control.sent.length, 0);
    control.answer = async () => {
      throw new GridseamError('GW_ERR_DEVICE_REJECTED', 'SetChargingProfile: Rejected');
    };
    await assert.rejects(adapter.apply(setpoint({})), /Rejected/);
  });
});

describe('OcppChargers', () => {
  test('routes events by identity, forwards them to the listener and counts unmatched ones', async () => {
    const sessions: ChargingSession[] = [];
    const booted: string[] = [];
    const chargers = new OcppChargers({
      session: (s) => sessions.push(s),
      booted: (station) => booted.push(station.identity),
    });
    const one = chargers.add({ deviceId: 'charger-1', identity: 'CP-1', defaults: DEFAULTS });
    assert.throws(
      () => chargers.add({ deviceId: 'x', identity: 'CP-1', defaults: DEFAULTS }),
      /already has an adapter/,
    );
    chargers.connected('CP-1', '2.0.1');
    chargers.booted(BOOTED);
    chargers.connected('STRANGER', '1.6');
    chargers.readings('STRANGER', [reading('STRANGER', 1, 1)]);
    const session: ChargingSession = {
      transactionId: 'tx-1',
      identity: 'CP-1',
      evseId: 1,
      startedAt: 5,
      state: 'active',
    };
    chargers.session(session);
    assert.equal(one.connected, true);
    assert.equal(one.station?.model, 'Wallbox 22');
    assert.deepEqual(booted, ['CP-1']);
    assert.deepEqual(sessions, [session]);
    assert.equal(chargers.unmatchedEvents, 2);
    assert.equal(chargers.get('STRANGER'), undefined);
    assert.deepEqual(
      chargers.all().map((a) => a.deviceId),
      ['charger-1'],
    );
  });

  test('control before the CSMS is attached is unreachable; after, it goes through the CSMS', async () => {
    const chargers = new OcppChargers();
    const adapter = chargers.add({ deviceId: 'charger-1', identity: 'CP-1', defaults: DEFAULTS });
    await assert.rejects(adapter.apply(setpoint({})), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_DEVICE_UNREACHABLE');
      return true;
    });
    const control = new FakeControl();
    chargers.attach(control);
    assert.equal((await adapter.apply(setpoint({}))).readBack.value, 7000);
    assert.equal(control.sent.length, 1);
  });
});
