/**
 * The CSMS with OCPP 2.0.1 charging stations (ocpp-rpc RPCClient in strict mode, written per the
 * 2.0.1 spec here): boot, StatusNotification / NotifyEvent, a TransactionEvent sequence with
 * offline events, smart charging with read-back, device-model variables, remote commands.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { limitProfileId } from '../../src/csms/index.ts';
import { connectAndBoot, iso, rejectsWith, startCsms, station } from './support.ts';

const V201 = { versions: ['2.0.1' as const] };

function meterValue(at: number, wh: number, extra: object[] = []): object {
  return {
    timestamp: iso(at),
    sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }, ...extra],
  };
}

describe('OCPP 2.0.1 boot and status', () => {
  test('boot, then StatusNotification and NotifyEvent AvailabilityState give EVSE status', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { CS1: undefined } }, { heartbeatIntervalS: 90 });
    const cs = station(t, csms, 'CS1', V201);
    await cs.connect();
    assert.equal(cs.protocol, 'ocpp2.0.1');
    await assert.rejects(cs.call('Heartbeat', {}), { rpcErrorCode: 'SecurityError' });
    const boot = (await cs.call('BootNotification', {
      reason: 'PowerUp',
      chargingStation: { vendorName: 'Acme', model: 'DC 50' },
    })) as { status: string; interval: number };
    assert.deepEqual([boot.status, boot.interval], ['Accepted', 90]);
    const booted = await events.next('booted');
    assert.deepEqual([booted.station.version, booted.station.vendor, booted.station.model], ['2.0.1', 'Acme', 'DC 50']);

    const t0 = Date.parse('2026-03-01T12:00:00Z');
    await cs.call('StatusNotification', { timestamp: iso(t0), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
    await cs.call('NotifyEvent', {
      generatedAt: iso(t0),
      seqNo: 0,
      eventData: [
        {
          eventId: 1,
          timestamp: iso(t0 + 1_000),
          trigger: 'Delta',
          actualValue: 'Faulted',
          eventNotificationType: 'HardWiredNotification',
          component: { name: 'Connector', evse: { id: 2, connectorId: 1 } },
          variable: { name: 'AvailabilityState' },
        },
      ],
    });
    assert.deepEqual(
      events.of('status').map((s) => [s.evseId, s.status, s.at]),
      [
        [1, 'Occupied', t0],
        [2, 'Faulted', t0 + 1_000],
      ],
    );
    await cs.call('NotifyReport', {
      requestId: 1,
      generatedAt: iso(t0),
      seqNo: 0,
      reportData: [
        {
          component: { name: 'EVSE', evse: { id: 3 } },
          variable: { name: 'Power' },
          variableAttribute: [{ value: '22000' }],
        },
      ],
    });
    assert.deepEqual(
      csms.station('CS1')?.evses.map((e) => e.evseId),
      [1, 2, 3],
    );
    assert.deepEqual(
      await cs.call('SecurityEventNotification', { type: 'StartupOfTheDevice', timestamp: iso(t0) }),
      {},
    );
    assert.deepEqual(await cs.call('FirmwareStatusNotification', { status: 'Installed' }), {});
    assert.deepEqual(
      await cs.call('NotifyChargingLimit', {
        chargingLimit: { chargingLimitSource: 'SO', isGridCritical: true },
        evseId: 1,
      }),
      {},
    );
    assert.deepEqual(await cs.call('DataTransfer', { vendorId: 'com.example' }), { status: 'UnknownVendorId' });
    await assert.rejects(cs.call('SignCertificate', { csr: 'x' }), { rpcErrorCode: 'NotSupported' });
  });
});

describe('OCPP 2.0.1 meter interval', () => {
  test('meterIntervalS becomes SampledDataCtrlr.TxUpdatedInterval after an accepted boot', async (t) => {
    const { csms } = await startCsms(t, { stations: { CS1: undefined } }, { meterIntervalS: 30 });
    const cs = station(t, csms, 'CS1', V201);
    const asked = new Promise<unknown>((resolve) => {
      cs.handle('SetVariables', ({ params }) => {
        resolve(params);
        return {
          setVariableResult: [
            {
              attributeStatus: 'Accepted',
              component: { name: 'SampledDataCtrlr' },
              variable: { name: 'TxUpdatedInterval' },
            },
          ],
        };
      });
    });
    await connectAndBoot(cs);
    assert.deepEqual(await asked, {
      setVariableData: [
        { component: { name: 'SampledDataCtrlr' }, variable: { name: 'TxUpdatedInterval' }, attributeValue: '30' },
      ],
    });
  });
});

describe('OCPP 2.0.1 transactions', () => {
  test('Started / Updated / Ended, offline events and a repeated seqNo', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { CS1: undefined }, idTags: { BAD: 'Invalid' } });
    const cs = station(t, csms, 'CS1', V201);
    await connectAndBoot(cs);
    const t0 = Date.parse('2026-03-02T08:00:00Z');
    const base = { transactionInfo: { transactionId: 'TX-1' } };

    const started = await cs.call('TransactionEvent', {
      ...base,
      eventType: 'Started',
      timestamp: iso(t0),
      triggerReason: 'Authorized',
      seqNo: 0,
      evse: { id: 1, connectorId: 1 },
      idToken: { idToken: 'TOKEN-1', type: 'ISO14443' },
      meterValue: [meterValue(t0, 5_000)],
    });
    assert.deepEqual(started, { idTokenInfo: { status: 'Accepted' } });
    const active = await events.next('session');
    assert.deepEqual(
      [
        active.session.transactionId,
        active.session.state,
        active.session.evseId,
        active.session.idTag,
        active.session.startedAt,
      ],
      ['TX-1', 'active', 1, 'TOKEN-1', t0],
    );

    await cs.call('TransactionEvent', {
      ...base,
      eventType: 'Updated',
      timestamp: iso(t0 + 60_000),
      triggerReason: 'MeterValuePeriodic',
      seqNo: 1,
      meterValue: [
        meterValue(t0 + 60_000, 5_600, [{ value: 61, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' } }]),
      ],
    });
    const updated = await events.next('session', (e) => e.session.energyWh === 600);
    assert.equal(updated.session.evSocPct, 61);

    // Events the station kept while offline: their own times; then a repeat of seqNo 1 changes nothing.
    await cs.call('TransactionEvent', {
      ...base,
      eventType: 'Updated',
      timestamp: iso(t0 + 120_000),
      triggerReason: 'MeterValuePeriodic',
      seqNo: 2,
      offline: true,
      meterValue: [meterValue(t0 + 120_000, 6_200)],
    });
    await cs.call('TransactionEvent', {
      ...base,
      eventType: 'Ended',
      timestamp: iso(t0 + 180_000),
      triggerReason: 'EVDeparted',
      seqNo: 3,
      offline: true,
      transactionInfo: { transactionId: 'TX-1', stoppedReason: 'EVDisconnected' },
      meterValue: [meterValue(t0 + 180_000, 6_500)],
    });
    const ended = await events.next('session', (e) => e.session.state === 'ended');
    assert.deepEqual(
      [
        ended.session.endedAt,
        ended.session.energyWh,
        ended.session.meterStartWh,
        ended.session.meterStopWh,
        ended.session.stopReason,
      ],
      [t0 + 180_000, 1_500, 5_000, 6_500, 'EVDisconnected'],
    );
    const sessionEvents = events.of('session').length;
    await cs.call('TransactionEvent', {
      ...base,
      eventType: 'Updated',
      timestamp: iso(t0 + 60_000),
      triggerReason: 'MeterValuePeriodic',
      seqNo: 1,
      meterValue: [meterValue(t0 + 60_000, 5_600)],
    });
    assert.equal(events.of('session').length, sessionEvents, 'a repeated event does not reopen the session');
    assert.deepEqual(
      csms.sessions('CS1').map((s) => [s.transactionId, s.state, s.energyWh]),
      [['TX-1', 'ended', 1_500]],
    );
    const readingTimes = events.of('readings').flatMap((e) => e.readings.map((r) => r.ts));
    assert.ok(readingTimes.includes(t0 + 120_000) && readingTimes.includes(t0 + 180_000));

    const refused = await cs.call('TransactionEvent', {
      eventType: 'Started',
      timestamp: iso(t0),
      triggerReason: 'Authorized',
      seqNo: 0,
      transactionInfo: { transactionId: 'TX-2' },
      idToken: { idToken: 'BAD', type: 'ISO14443' },
    });
    assert.deepEqual(refused, { idTokenInfo: { status: 'Invalid' } });
    assert.deepEqual(await cs.call('Authorize', { idToken: { idToken: 'TOKEN-1', type: 'ISO14443' } }), {
      idTokenInfo: { status: 'Accepted' },
    });
  });
});

describe('OCPP 2.0.1 EVSE status from chargingState', () => {
  test("a transaction's chargingState gives the EVSE status; Occupied reads through it; ended: the connector again", async (t) => {
    const { csms, events } = await startCsms(t, { stations: { CS1: undefined } });
    const cs = station(t, csms, 'CS1', V201);
    await connectAndBoot(cs);
    const t0 = Date.parse('2026-03-03T10:00:00Z');
    const statusOf = (evseId: number, at: number, connectorStatus: string) =>
      cs.call('StatusNotification', { timestamp: iso(at), connectorStatus, evseId, connectorId: 1 });
    let seqNo = 0;
    const event = (
      eventType: 'Started' | 'Updated' | 'Ended',
      at: number,
      chargingState: string | undefined,
      extra: Record<string, unknown> = {},
    ) =>
      cs.call('TransactionEvent', {
        eventType,
        timestamp: iso(at),
        triggerReason: eventType === 'Started' ? 'CablePluggedIn' : 'ChargingStateChanged',
        seqNo: seqNo++,
        transactionInfo: { transactionId: 'TX-S', ...(chargingState ? { chargingState } : {}) },
        ...(eventType === 'Started' ? { evse: { id: 1, connectorId: 1 } } : {}),
        ...extra,
      });
    const statuses = () => events.of('status').map((s) => [s.evseId, s.status, s.at - t0]);

    await statusOf(1, t0, 'Occupied');
    await event('Started', t0 + 1_000, 'EVConnected');
    await event('Updated', t0 + 2_000, 'Charging');
    await event('Updated', t0 + 3_000, 'Charging'); // no change, no event
    // A connector status refresh (e.g. after a reconnect) says Occupied: the EVSE still charges.
    await statusOf(1, t0 + 4_000, 'Occupied');
    await event('Updated', t0 + 5_000, 'SuspendedEV');
    // Offline events and repeated seqNos describe the past: no status from them.
    await event('Updated', t0 + 4_500, 'Charging', { offline: true });
    await cs.call('TransactionEvent', {
      eventType: 'Updated',
      timestamp: iso(t0 + 2_500),
      triggerReason: 'ChargingStateChanged',
      seqNo: 1,
      transactionInfo: { transactionId: 'TX-S', chargingState: 'SuspendedEVSE' },
    });
    // A fault stands as reported, even while the transaction is active.
    await statusOf(2, t0 + 5_500, 'Faulted');
    await event('Updated', t0 + 6_000, 'SuspendedEVSE');
    // Ended with the EV still plugged in: the connector's own Occupied is back; then the EV leaves.
    await event('Ended', t0 + 7_000, 'EVConnected', {
      transactionInfo: { transactionId: 'TX-S', stoppedReason: 'Remote', chargingState: 'EVConnected' },
    });
    await statusOf(1, t0 + 8_000, 'Available');
    assert.deepEqual(statuses(), [
      [1, 'Occupied', 0],
      [1, 'Preparing', 1_000],
      [1, 'Charging', 2_000],
      [1, 'Charging', 4_000],
      [1, 'SuspendedEV', 5_000],
      [2, 'Faulted', 5_500],
      [1, 'SuspendedEVSE', 6_000],
      [1, 'Occupied', 7_000],
      [1, 'Available', 8_000],
    ]);
    assert.equal(csms.sessions('CS1')[0]?.state, 'ended');
  });

  test('a transaction on an EVSE that never reported its connector status', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { CS1: undefined } });
    const cs = station(t, csms, 'CS1', V201);
    await connectAndBoot(cs);
    const t0 = Date.parse('2026-03-03T11:00:00Z');
    const base = { transactionInfo: { transactionId: 'TX-N' }, triggerReason: 'Authorized' };
    // No chargingState: nothing is known about the EVSE yet.
    await cs.call('TransactionEvent', { ...base, eventType: 'Started', timestamp: iso(t0), seqNo: 0, evse: { id: 3 } });
    assert.deepEqual(events.of('status'), []);
    await cs.call('TransactionEvent', {
      ...base,
      eventType: 'Updated',
      timestamp: iso(t0 + 1_000),
      seqNo: 1,
      transactionInfo: { transactionId: 'TX-N', chargingState: 'Charging' },
    });
    await cs.call('TransactionEvent', { ...base, eventType: 'Ended', timestamp: iso(t0 + 2_000), seqNo: 2 });
    assert.deepEqual(
      events.of('status').map((s) => [s.evseId, s.status, s.at - t0]),
      [
        [3, 'Charging', 1_000],
        // Ended without a connector status on record: the EV may still be plugged in.
        [3, 'Occupied', 2_000],
      ],
    );
  });
});

describe('OCPP 2.0.1 smart charging and device model', () => {
  test('setChargingLimit: a ChargingStationMaxProfile on evse 0, composite read-back in W', async (t) => {
    const { csms } = await startCsms(t, { stations: { CS1: undefined } });
    const cs = station(t, csms, 'CS1', V201);
    const profiles: Array<{ evseId: number; chargingProfile: Record<string, unknown> }> = [];
    let profileAnswer: object = { status: 'Accepted' };
    let compositeLimit = 0;
    cs.handle('SetChargingProfile', ({ params }) => {
      const request = params as {
        evseId: number;
        chargingProfile: { chargingSchedule: Array<{ chargingSchedulePeriod: Array<{ limit: number }> }> };
      };
      profiles.push(request as unknown as { evseId: number; chargingProfile: Record<string, unknown> });
      compositeLimit = request.chargingProfile.chargingSchedule[0]!.chargingSchedulePeriod[0]!.limit;
      return profileAnswer;
    });
    cs.handle('GetCompositeSchedule', ({ params }) => {
      const request = params as { evseId: number; duration: number; chargingRateUnit: 'W' | 'A' };
      return {
        status: 'Accepted',
        schedule: {
          evseId: request.evseId,
          duration: request.duration,
          scheduleStart: iso(Date.now()),
          chargingRateUnit: request.chargingRateUnit,
          chargingSchedulePeriod: [{ startPeriod: 0, limit: compositeLimit }],
        },
      };
    });
    cs.handle('ClearChargingProfile', () => ({ status: 'Accepted' }));
    await connectAndBoot(cs);
    const start = Date.now();
    const outcome = await csms.setChargingLimit('CS1', {
      evseId: 0,
      value: 11_000,
      unit: 'W',
      start,
      expiry: start + 3_600_000,
    });
    assert.deepEqual([outcome.readBack, outcome.profileId], [11_000, limitProfileId(0, 'StationMax')]);
    const sent = profiles[0]!;
    assert.equal(sent.evseId, 0);
    assert.equal(sent.chargingProfile.chargingProfilePurpose, 'ChargingStationMaxProfile');
    assert.equal(sent.chargingProfile.validTo, iso(start + 3_600_000));
    assert.deepEqual(sent.chargingProfile.chargingSchedule, [
      {
        id: limitProfileId(0, 'StationMax'),
        chargingRateUnit: 'W',
        startSchedule: iso(start),
        duration: 3_600,
        chargingSchedulePeriod: [{ startPeriod: 0, limit: 11_000 }],
      },
    ]);

    profileAnswer = { status: 'Rejected', statusInfo: { reasonCode: 'InvalidSchedule' } };
    const rejected = await rejectsWith(
      csms.setChargingLimit('CS1', { evseId: 1, value: 16, unit: 'A', start, expiry: start + 60_000 }),
      'GW_ERR_DEVICE_REJECTED',
    );
    assert.deepEqual([rejected.details?.status, rejected.details?.reasonCode], ['Rejected', 'InvalidSchedule']);
    assert.equal(
      (profiles[1]!.chargingProfile as { chargingProfilePurpose: string }).chargingProfilePurpose,
      'TxDefaultProfile',
    );

    const composite = await csms.getCompositeSchedule('CS1', 0, 120, 'W');
    assert.deepEqual(
      [composite.evseId, composite.unit, composite.durationS, composite.periods.length],
      [0, 'W', 120, 1],
    );
    await csms.clearChargingLimit('CS1', 0);
  });

  test('getSettings / setSettings as GetVariables / SetVariables with Component.Variable keys', async (t) => {
    const { csms } = await startCsms(t, { stations: { CS1: undefined } });
    const cs = station(t, csms, 'CS1', V201);
    const variables = new Map<string, string>([
      ['OCPPCommCtrlr.HeartbeatInterval', '300'],
      ['SmartChargingCtrlr.Enabled', 'true'],
    ]);
    type Target = { component: { name: string }; variable: { name: string } };
    cs.handle('GetVariables', ({ params }) => ({
      getVariableResult: (params as { getVariableData: Target[] }).getVariableData.map((d) => {
        const value = variables.get(`${d.component.name}.${d.variable.name}`);
        return value === undefined
          ? { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable }
          : { attributeStatus: 'Accepted', attributeValue: value, component: d.component, variable: d.variable };
      }),
    }));
    cs.handle('SetVariables', ({ params }) => ({
      setVariableResult: (
        params as { setVariableData: Array<Target & { attributeValue: string }> }
      ).setVariableData.map((d) => {
        const key = `${d.component.name}.${d.variable.name}`;
        if (!variables.has(key))
          return { attributeStatus: 'UnknownComponent', component: d.component, variable: d.variable };
        variables.set(key, d.attributeValue);
        return { attributeStatus: 'Accepted', component: d.component, variable: d.variable };
      }),
    }));
    await connectAndBoot(cs);
    assert.deepEqual(await csms.getSettings('CS1', ['OCPPCommCtrlr.HeartbeatInterval', 'Foo.Bar']), {
      'OCPPCommCtrlr.HeartbeatInterval': '300',
      'Foo.Bar': undefined,
    });
    assert.deepEqual(await csms.setSettings('CS1', { 'OCPPCommCtrlr.HeartbeatInterval': '60', 'Foo.Bar': 'x' }), {
      'OCPPCommCtrlr.HeartbeatInterval': 'Accepted',
      'Foo.Bar': 'UnknownComponent',
    });
    assert.equal(variables.get('OCPPCommCtrlr.HeartbeatInterval'), '60');
    await rejectsWith(csms.getSettings('CS1', ['NoDot']), 'GW_ERR_VALIDATION');
  });

  test('RequestStart/StopTransaction, Reset and ChangeAvailability', async (t) => {
    const { csms } = await startCsms(t, { stations: { CS1: undefined } });
    const cs = station(t, csms, 'CS1', V201);
    const seen: Array<[string, Record<string, unknown>]> = [];
    for (const action of ['RequestStartTransaction', 'RequestStopTransaction', 'Reset', 'ChangeAvailability']) {
      cs.handle(action, ({ params }) => {
        seen.push([action, params as Record<string, unknown>]);
        return { status: 'Accepted' };
      });
    }
    await connectAndBoot(cs);
    assert.equal(await csms.remoteStart('CS1', 2, 'TAG-1'), 'Accepted');
    assert.equal(await csms.remoteStop('CS1', 'TX-9'), 'Accepted');
    assert.equal(await csms.reset('CS1', 'Soft'), 'Accepted');
    assert.equal(await csms.changeAvailability('CS1', 0, false), 'Accepted');
    const start = seen[0]![1];
    assert.equal(start.evseId, 2);
    assert.deepEqual(start.idToken, { idToken: 'TAG-1', type: 'Central' });
    assert.ok(Number.isInteger(start.remoteStartId));
    assert.deepEqual(seen.slice(1), [
      ['RequestStopTransaction', { transactionId: 'TX-9' }],
      ['Reset', { type: 'OnIdle' }],
      ['ChangeAvailability', { operationalStatus: 'Inoperative' }],
    ]);
  });

  test('a queued limit reaches a station that reconnects without rebooting', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { CS1: undefined } });
    const first = station(t, csms, 'CS1', V201);
    await connectAndBoot(first);
    await first.close();
    await events.next('disconnected');
    const start = Date.now();
    const queued = csms.setChargingLimit(
      'CS1',
      { evseId: 0, value: 7_400, unit: 'W', start, expiry: start + 600_000 },
      { queueUntil: start + 10_000 },
    );
    const second = station(t, csms, 'CS1', V201);
    let limit = 0;
    second.handle('SetChargingProfile', ({ params }) => {
      limit = (
        params as { chargingProfile: { chargingSchedule: Array<{ chargingSchedulePeriod: Array<{ limit: number }> }> } }
      ).chargingProfile.chargingSchedule[0]!.chargingSchedulePeriod[0]!.limit;
      return { status: 'Accepted' };
    });
    second.handle('GetCompositeSchedule', ({ params }) => ({
      status: 'Accepted',
      schedule: {
        evseId: 0,
        duration: (params as { duration: number }).duration,
        scheduleStart: iso(Date.now()),
        chargingRateUnit: 'W',
        chargingSchedulePeriod: [{ startPeriod: 0, limit }],
      },
    }));
    await second.connect();
    // Its first CALL after the reconnect (not a BootNotification) shows it is still the accepted station.
    await second.call('Heartbeat', {});
    assert.equal((await queued).readBack, 7_400);
  });
});
