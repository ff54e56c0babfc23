/**
 * The CSMS with OCPP 1.6J charge points (ocpp-rpc RPCClient in strict mode, written per the 1.6
 * spec here): boot states, status, meter values, transactions, smart charging with read-back,
 * configuration, remote commands, offline queueing and reconnect reconciliation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { limitProfileId } from '../../src/csms/index.ts';
import { connectAndBoot, iso, rejectsWith, startCsms, station, type TestStation } from './support.ts';

const BOOT = { chargePointVendor: 'Acme', chargePointModel: 'Wallbox 22', firmwareVersion: '1.2.3' };

interface InstalledV16 {
  connectorId: number;
  csChargingProfiles: {
    chargingProfileId: number;
    stackLevel: number;
    chargingProfilePurpose: string;
    chargingProfileKind: string;
    validTo?: string;
    chargingSchedule: {
      startSchedule?: string;
      duration?: number;
      chargingRateUnit: string;
      chargingSchedulePeriod: Array<{ startPeriod: number; limit: number }>;
    };
  };
}

/**
 * A charge point with the Smart Charging profile, per OCPP 1.6 §5.16/§5.7/§5.5: keeps the profiles it
 * is given; its composite schedule is the lowest ChargePointMax/TxDefault limit in force (or
 * `compositeOverride`), 32 A when there is none.
 */
function smartChargePoint(client: TestStation) {
  const state = {
    installed: [] as InstalledV16[],
    answer: 'Accepted' as 'Accepted' | 'Rejected' | 'NotSupported',
    compositeOverride: undefined as number | undefined,
    cleared: [] as number[],
    compositeRequests: [] as Array<{ connectorId: number; duration: number; chargingRateUnit?: string }>,
  };
  client.handle('SetChargingProfile', ({ params }) => {
    const request = params as InstalledV16;
    if (state.answer === 'Accepted') {
      state.installed = state.installed.filter(
        (p) => p.csChargingProfiles.chargingProfileId !== request.csChargingProfiles.chargingProfileId,
      );
      state.installed.push(request);
    }
    return { status: state.answer };
  });
  client.handle('GetCompositeSchedule', ({ params }) => {
    const request = params as { connectorId: number; duration: number; chargingRateUnit?: string };
    state.compositeRequests.push(request);
    const limits = state.installed.map((p) => p.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0]!.limit);
    const limit = state.compositeOverride ?? (limits.length > 0 ? Math.min(...limits) : 32);
    return {
      status: 'Accepted',
      connectorId: request.connectorId,
      scheduleStart: iso(Date.now()),
      chargingSchedule: {
        duration: request.duration,
        chargingRateUnit: request.chargingRateUnit ?? 'A',
        chargingSchedulePeriod: [{ startPeriod: 0, limit }],
      },
    };
  });
  client.handle('ClearChargingProfile', ({ params }) => {
    const { id } = params as { id: number };
    state.cleared.push(id);
    const before = state.installed.length;
    state.installed = state.installed.filter((p) => p.csChargingProfiles.chargingProfileId !== id);
    return { status: state.installed.length < before ? 'Accepted' : 'Unknown' };
  });
  return state;
}

describe('OCPP 1.6 boot', () => {
  test('Pending, then Accepted; other CALLs before that get SecurityError', async (t) => {
    let answer: 'Pending' | 'Accepted' = 'Pending';
    const { csms, events } = await startCsms(
      t,
      { stations: { CP1: undefined }, boot: () => answer },
      { heartbeatIntervalS: 120, bootRetryIntervalS: 15 },
    );
    const cp = station(t, csms, 'CP1');
    await cp.connect();
    const pending = (await cp.call('BootNotification', BOOT)) as {
      status: string;
      interval: number;
      currentTime: string;
    };
    assert.equal(pending.status, 'Pending');
    assert.equal(pending.interval, 15);
    assert.ok(Date.parse(pending.currentTime) > 0);
    await assert.rejects(cp.call('Heartbeat', {}), { rpcErrorCode: 'SecurityError' });
    await assert.rejects(cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }), {
      rpcErrorCode: 'SecurityError',
    });
    assert.equal(events.of('booted').length, 0);
    assert.equal(events.of('status').length, 0);
    // Pending is for configuration (§4.2): settings may be read, other commands wait.
    cp.handle('GetConfiguration', () => ({
      configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '30' }],
    }));
    assert.deepEqual(await csms.getSettings('CP1', ['HeartbeatInterval']), { HeartbeatInterval: '30' });
    const notYet = await rejectsWith(csms.reset('CP1', 'Soft'), 'GW_ERR_DEVICE_UNREACHABLE');
    assert.match(notYet.message, /Pending/);

    answer = 'Accepted';
    const accepted = (await cp.call('BootNotification', BOOT)) as { status: string; interval: number };
    assert.deepEqual([accepted.status, accepted.interval], ['Accepted', 120]);
    const booted = await events.next('booted');
    assert.equal(booted.station.identity, 'CP1');
    assert.equal(booted.station.version, '1.6');
    assert.equal(booted.station.vendor, 'Acme');
    assert.equal(booted.station.model, 'Wallbox 22');
    assert.equal(booted.station.firmware, '1.2.3');
    assert.ok(Date.parse(((await cp.call('Heartbeat', {})) as { currentTime: string }).currentTime) > 0);
  });

  test('Rejected keeps the station out', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined }, boot: () => 'Rejected' });
    const cp = station(t, csms, 'CP1');
    const answer = await connectAndBoot(cp);
    assert.equal(answer.status, 'Rejected');
    await assert.rejects(cp.call('Heartbeat', {}), { rpcErrorCode: 'SecurityError' });
    await rejectsWith(csms.reset('CP1', 'Soft'), 'GW_ERR_DEVICE_UNREACHABLE');
  });

  test('a station that reconnects without a boot on record is asked for one (TriggerMessage)', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } }, { bootTriggerDelayMs: 50 });
    const cp = station(t, csms, 'CP1');
    const triggered = new Promise<unknown>((resolve) => {
      cp.handle('TriggerMessage', ({ params }) => {
        resolve(params);
        return { status: 'Accepted' };
      });
    });
    await cp.connect();
    assert.deepEqual(await triggered, { requestedMessage: 'BootNotification' });
  });
});

describe('OCPP 1.6 meter interval', () => {
  test('meterIntervalS is asked of the charge point after an accepted boot', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } }, { meterIntervalS: 15 });
    const cp = station(t, csms, 'CP1');
    const changed = new Promise<unknown>((resolve) => {
      cp.handle('ChangeConfiguration', ({ params }) => {
        resolve(params);
        return { status: 'Accepted' };
      });
    });
    await connectAndBoot(cp);
    assert.deepEqual(await changed, { key: 'MeterValueSampleInterval', value: '15' });
  });
});

describe('OCPP 1.6 telemetry and transactions', () => {
  test('status, meter values and a transaction become canonical events', async (t) => {
    const { csms, events } = await startCsms(t, {
      stations: { CP1: undefined },
      idTags: { BLOCKED: 'Blocked' },
    });
    const cp = station(t, csms, 'CP1');
    await connectAndBoot(cp);
    const t0 = Date.parse('2026-03-01T10:00:00Z');

    await cp.call('StatusNotification', {
      connectorId: 0,
      errorCode: 'NoError',
      status: 'Available',
      timestamp: iso(t0),
    });
    await cp.call('StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Preparing',
      timestamp: iso(t0),
    });
    const statuses = events.of('status');
    assert.deepEqual(
      statuses.map((s) => [s.evseId, s.status, s.at]),
      [
        [0, 'Available', t0],
        [1, 'Preparing', t0],
      ],
    );
    assert.deepEqual(
      csms.station('CP1')?.evses.map((e) => e.evseId),
      [1],
    );

    assert.deepEqual(await cp.call('Authorize', { idTag: 'BLOCKED' }), { idTagInfo: { status: 'Blocked' } });
    assert.deepEqual(await cp.call('Authorize', { idTag: 'TAG-1' }), { idTagInfo: { status: 'Accepted' } });

    const started = (await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: 'TAG-1',
      meterStart: 10_000,
      timestamp: iso(t0 + 1_000),
    })) as { transactionId: number; idTagInfo: { status: string } };
    assert.ok(Number.isInteger(started.transactionId));
    assert.equal(started.idTagInfo.status, 'Accepted');
    const active = await events.next('session');
    assert.deepEqual(
      {
        id: active.session.transactionId,
        state: active.session.state,
        evse: active.session.evseId,
        tag: active.session.idTag,
        at: active.session.startedAt,
      },
      { id: String(started.transactionId), state: 'active', evse: 1, tag: 'TAG-1', at: t0 + 1_000 },
    );
    // The same StartTransaction again (its answer lost) gets the same id.
    const again = (await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: 'TAG-1',
      meterStart: 10_000,
      timestamp: iso(t0 + 1_000),
    })) as { transactionId: number };
    assert.equal(again.transactionId, started.transactionId);

    await cp.call('MeterValues', {
      connectorId: 1,
      transactionId: started.transactionId,
      meterValue: [
        {
          timestamp: iso(t0 + 60_000),
          sampledValue: [
            { value: '10.5', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
            { value: '7400', measurand: 'Power.Active.Import', unit: 'W' },
            { value: '55', measurand: 'SoC', unit: 'Percent', location: 'EV' },
          ],
        },
      ],
    });
    const readings = (await events.next('readings')).readings;
    const energy = readings.find((r) => r.measurand === 'energyImported');
    assert.deepEqual([energy?.value, energy?.ts, energy?.deviceId], [10_500, t0 + 60_000, 'CP1']);
    assert.ok(readings.some((r) => r.measurand === 'activePower' && r.value === -7400));
    const updated = await events.next('session', (e) => e.session.energyWh === 500);
    assert.equal(updated.session.evSocPct, 55);

    const stopped = await cp.call('StopTransaction', {
      transactionId: started.transactionId,
      meterStop: 12_000,
      timestamp: iso(t0 + 120_000),
      reason: 'EVDisconnected',
      idTag: 'TAG-1',
      transactionData: [
        {
          timestamp: iso(t0 + 119_000),
          sampledValue: [{ value: '11990', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
        },
      ],
    });
    assert.deepEqual(stopped, { idTagInfo: { status: 'Accepted' } });
    const ended = await events.next('session', (e) => e.session.state === 'ended');
    assert.deepEqual(
      [ended.session.endedAt, ended.session.meterStopWh, ended.session.energyWh, ended.session.stopReason],
      [t0 + 120_000, 12_000, 2_000, 'EVDisconnected'],
    );
    assert.ok(events.of('readings').some((e) => e.readings.some((r) => r.ts === t0 + 119_000 && r.value === 11_990)));
    assert.equal(csms.sessions('CP1').length, 1);
    assert.equal(csms.sessions('CP1')[0]?.state, 'ended');

    assert.deepEqual(await cp.call('DataTransfer', { vendorId: 'com.example', messageId: 'x' }), {
      status: 'UnknownVendorId',
    });
    assert.deepEqual(await cp.call('FirmwareStatusNotification', { status: 'Idle' }), {});
    assert.deepEqual(await cp.call('DiagnosticsStatusNotification', { status: 'Idle' }), {});
    assert.deepEqual(await cp.call('SecurityEventNotification', { type: 'SettingSystemTime', timestamp: iso(t0) }), {});
  });

  test('a transaction that ended while offline is reconciled on reconnect', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { CP1: undefined } });
    const first = station(t, csms, 'CP1');
    await connectAndBoot(first);
    const t0 = Date.now() - 3_600_000;
    const { transactionId } = (await first.call('StartTransaction', {
      connectorId: 2,
      idTag: 'TAG',
      meterStart: 0,
      timestamp: iso(t0),
    })) as { transactionId: number };
    await first.close();
    await events.next('disconnected');

    // Back after an hour offline: the stop and the meter values kept meanwhile, with their own times.
    const second = station(t, csms, 'CP1');
    await second.connect();
    await second.call('MeterValues', {
      connectorId: 2,
      transactionId,
      meterValue: [{ timestamp: iso(t0 + 600_000), sampledValue: [{ value: '1500', unit: 'Wh' }] }],
    });
    await second.call('StopTransaction', {
      transactionId,
      meterStop: 4_000,
      timestamp: iso(t0 + 1_800_000),
      reason: 'Local',
    });
    const ended = await events.next('session', (e) => e.session.state === 'ended');
    assert.deepEqual([ended.session.endedAt, ended.session.energyWh], [t0 + 1_800_000, 4_000]);
    assert.ok(events.of('readings').some((e) => e.readings.some((r) => r.ts === t0 + 600_000)));

    // A stop for a transaction this CSMS never saw (started before a restart) is still recorded.
    await second.call('StopTransaction', { transactionId: 42, meterStop: 900, timestamp: iso(t0) });
    const unknown = await events.next('session', (e) => e.session.transactionId === '42');
    assert.equal(unknown.session.state, 'ended');
  });
});

describe('OCPP 1.6 smart charging', () => {
  test('setChargingLimit installs a stable ChargePointMaxProfile and reads it back', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const cp = station(t, csms, 'CP1');
    const state = smartChargePoint(cp);
    await connectAndBoot(cp);
    const start = Date.now();
    const expiry = start + 900_000;
    const outcome = await csms.setChargingLimit('CP1', { evseId: 0, value: 16.04, unit: 'A', start, expiry });
    assert.equal(outcome.readBack, 16);
    assert.equal(outcome.profileId, limitProfileId(0, 'StationMax'));
    const sent = state.installed[0]!;
    assert.equal(sent.connectorId, 0);
    assert.equal(sent.csChargingProfiles.chargingProfilePurpose, 'ChargePointMaxProfile');
    assert.equal(sent.csChargingProfiles.chargingProfileKind, 'Absolute');
    assert.equal(sent.csChargingProfiles.stackLevel, 1);
    assert.equal(sent.csChargingProfiles.validTo, iso(expiry));
    assert.equal(sent.csChargingProfiles.chargingSchedule.startSchedule, iso(start));
    assert.equal(sent.csChargingProfiles.chargingSchedule.duration, 900);
    assert.deepEqual(sent.csChargingProfiles.chargingSchedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 16 }]);
    assert.deepEqual(state.compositeRequests[0], { connectorId: 0, duration: 60, chargingRateUnit: 'A' });

    // A new limit replaces the old one (same id); an EVSE limit is a TxDefaultProfile on its connector.
    await csms.setChargingLimit('CP1', { evseId: 0, value: 10, unit: 'A', start, expiry });
    assert.equal(state.installed.length, 1);
    const evse = await csms.setChargingLimit('CP1', { evseId: 1, value: 7000, unit: 'W', start, expiry });
    assert.equal(state.installed[1]?.connectorId, 1);
    assert.equal(state.installed[1]?.csChargingProfiles.chargingProfilePurpose, 'TxDefaultProfile');
    assert.equal(evse.profileId, limitProfileId(1, 'TxDefault'));

    const composite = await csms.getCompositeSchedule('CP1', 0, 300, 'A');
    assert.equal(composite.unit, 'A');
    assert.equal(composite.durationS, 300);
    assert.equal(composite.periods[0]?.limit, 10);

    await csms.clearChargingLimit('CP1', 0);
    assert.deepEqual(state.cleared, [limitProfileId(0, 'StationMax')]);
  });

  test('a rejected profile, a composite above the limit and no smart charging are errors', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const cp = station(t, csms, 'CP1');
    const state = smartChargePoint(cp);
    await connectAndBoot(cp);
    const limit = { evseId: 0, value: 16, unit: 'A' as const, start: Date.now(), expiry: Date.now() + 60_000 };

    state.answer = 'Rejected';
    const rejected = await rejectsWith(csms.setChargingLimit('CP1', limit), 'GW_ERR_DEVICE_REJECTED');
    assert.equal(rejected.details?.status, 'Rejected');

    state.answer = 'Accepted';
    state.compositeOverride = 32;
    const ignored = await rejectsWith(csms.setChargingLimit('CP1', limit), 'GW_ERR_DEVICE_REJECTED');
    assert.equal(ignored.details?.readBack, 32);
    state.compositeOverride = 16.1;
    assert.equal((await csms.setChargingLimit('CP1', limit)).readBack, 16.1, 'within the 0.1 rounding allowance');

    state.answer = 'NotSupported';
    await rejectsWith(csms.setChargingLimit('CP1', limit), 'GW_ERR_NOT_SUPPORTED');
    await rejectsWith(csms.setChargingLimit('CP1', { ...limit, expiry: limit.start - 1 }), 'GW_ERR_VALIDATION');
    await rejectsWith(
      csms.setChargingLimit('CP1', { ...limit, purpose: 'Tx', evseId: 1 }),
      'GW_ERR_INVALID_TRANSITION',
    );
  });

  test('a charge point without the Smart Charging profile (NotImplemented) is GW_ERR_NOT_SUPPORTED', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const cp = station(t, csms, 'CP1');
    await connectAndBoot(cp);
    await rejectsWith(
      csms.setChargingLimit('CP1', { evseId: 0, value: 16, unit: 'A', start: Date.now(), expiry: Date.now() + 60_000 }),
      'GW_ERR_NOT_SUPPORTED',
    );
  });
});

describe('OCPP 1.6 configuration and remote commands', () => {
  test('getSettings / setSettings map to GetConfiguration / ChangeConfiguration', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const cp = station(t, csms, 'CP1');
    const config: Record<string, { value: string; readonly: boolean }> = {
      HeartbeatInterval: { value: '300', readonly: false },
      ChargeProfileMaxStackLevel: { value: '8', readonly: true },
    };
    cp.handle('GetConfiguration', ({ params }) => {
      const keys = (params as { key?: string[] }).key ?? Object.keys(config);
      return {
        configurationKey: keys
          .filter((k) => config[k])
          .map((k) => ({ key: k, readonly: config[k]!.readonly, value: config[k]!.value })),
        unknownKey: keys.filter((k) => !config[k]),
      };
    });
    cp.handle('ChangeConfiguration', ({ params }) => {
      const { key, value } = params as { key: string; value: string };
      if (!config[key]) return { status: 'NotSupported' };
      if (config[key].readonly) return { status: 'Rejected' };
      config[key].value = value;
      return { status: 'Accepted' };
    });
    await connectAndBoot(cp);
    assert.deepEqual(await csms.getSettings('CP1', ['HeartbeatInterval', 'Nope']), {
      HeartbeatInterval: '300',
      Nope: undefined,
    });
    assert.deepEqual(
      await csms.setSettings('CP1', { HeartbeatInterval: '60', ChargeProfileMaxStackLevel: '3', Nope: '1' }),
      {
        HeartbeatInterval: 'Accepted',
        ChargeProfileMaxStackLevel: 'Rejected',
        Nope: 'NotSupported',
      },
    );
    assert.equal((await csms.getSettings('CP1', [])).HeartbeatInterval, '60');
  });

  test('remote start/stop, reset and availability', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const cp = station(t, csms, 'CP1');
    const seen: Array<[string, unknown]> = [];
    for (const action of ['RemoteStartTransaction', 'RemoteStopTransaction', 'Reset', 'ChangeAvailability']) {
      cp.handle(action, ({ params }) => {
        seen.push([action, params]);
        return { status: action === 'ChangeAvailability' ? 'Scheduled' : 'Accepted' };
      });
    }
    await connectAndBoot(cp);
    assert.equal(await csms.remoteStart('CP1', 1, 'TAG-9'), 'Accepted');
    assert.equal(await csms.remoteStop('CP1', '1234'), 'Accepted');
    assert.equal(await csms.reset('CP1', 'Hard'), 'Accepted');
    assert.equal(await csms.changeAvailability('CP1', 2, false), 'Scheduled');
    assert.deepEqual(seen, [
      ['RemoteStartTransaction', { idTag: 'TAG-9', connectorId: 1 }],
      ['RemoteStopTransaction', { transactionId: 1234 }],
      ['Reset', { type: 'Hard' }],
      ['ChangeAvailability', { connectorId: 2, type: 'Inoperative' }],
    ]);
    await rejectsWith(csms.remoteStop('CP1', 'not-a-number'), 'GW_ERR_VALIDATION');
  });
});

describe('OCPP 1.6 offline commands', () => {
  test('a queued command is delivered after the station is back and accepted', async (t) => {
    let answer: 'Pending' | 'Accepted' = 'Accepted';
    const { csms, events } = await startCsms(t, { stations: { CP1: undefined }, boot: () => answer });
    const first = station(t, csms, 'CP1');
    await connectAndBoot(first);
    await first.close();
    await events.next('disconnected');

    await rejectsWith(csms.reset('CP1', 'Soft'), 'GW_ERR_DEVICE_UNREACHABLE');
    const queued = csms.reset('CP1', 'Soft', { queueUntil: Date.now() + 10_000 });

    // Back, but rebooted into Pending: nothing is sent until the boot is accepted.
    answer = 'Pending';
    const second = station(t, csms, 'CP1');
    const resets: unknown[] = [];
    second.handle('Reset', ({ params }) => {
      resets.push(params);
      return { status: 'Accepted' };
    });
    assert.equal((await connectAndBoot(second)).status, 'Pending');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(resets.length, 0);
    answer = 'Accepted';
    assert.equal(((await second.call('BootNotification', BOOT)) as { status: string }).status, 'Accepted');
    assert.equal(await queued, 'Accepted');
    assert.deepEqual(resets, [{ type: 'Soft' }]);
  });

  test('a queued command is rejected at queueUntil when the station stays away', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const error = await rejectsWith(
      csms.changeAvailability('CP1', 1, true, { queueUntil: Date.now() + 100 }),
      'GW_ERR_DEVICE_UNREACHABLE',
    );
    assert.match(error.message, /queueUntil/);
  });

  test('a call the station never answers times out as GW_ERR_DEVICE_UNREACHABLE', async (t) => {
    const { csms } = await startCsms(t, { stations: { CP1: undefined } });
    const cp = station(t, csms, 'CP1');
    cp.handle('Reset', () => new Promise(() => {}));
    await connectAndBoot(cp);
    const error = await rejectsWith(csms.reset('CP1', 'Soft', { timeoutMs: 200 }), 'GW_ERR_DEVICE_UNREACHABLE');
    assert.equal((error as unknown as { retryable: boolean }).retryable, true);
  });
});
