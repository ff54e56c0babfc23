/**
 * The demo's plans (pure): the fleet layout over Modbus ports, the scenario's day, the cadences,
 * and the gateway configuration built in code, validated by the same rules as a YAML file.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { MAX_UNITS_PER_PORT } from '@gridseam/sunspec';
import { HOUR_MS } from '../../src/demo/clock.ts';
import { cadenceFor, demoConfigObject, demoGatewayConfig, SMALL_FLEET_SITES } from '../../src/demo/config.ts';
import { demoPaths } from '../../src/demo/data.ts';
import { planFleet, siteLfdi } from '../../src/demo/fleet.ts';
import { MIN_LEAD_REAL_MS, PUBLISH_LEAD_MS, planScenario, publishLeadMs } from '../../src/demo/scenario.ts';

describe('planFleet', () => {
  test('three units per site in a row: PV, storage (a hybrid every fourth site), meter; chargers on odd sites', () => {
    const plan = planFleet(8);
    assert.equal(plan.unitCount, 24);
    assert.equal(plan.portCount, 1);
    assert.equal(plan.chargerCount, 4);
    const site4 = plan.sites[3];
    assert.ok(site4);
    assert.equal(site4.id, 'site-4');
    assert.deepEqual([site4.pv.unit, site4.storage.unit, site4.meter.unit], [10, 11, 12], 'site 4 holds units 10..12');
    assert.equal(site4.storage.kind, 'hybrid');
    assert.equal(site4.storage.deviceId, 'hybrid-4');
    assert.equal(plan.sites[0]?.storage.kind, 'battery');
    assert.equal(plan.sites[0]?.storage.deviceId, 'battery-1');
    assert.deepEqual(
      plan.sites.map((s) => s.charger?.identity ?? null),
      ['ev-1', null, 'ev-2', null, 'ev-3', null, 'ev-4', null],
    );
    assert.match(plan.sites[0]?.lfdi ?? '', /^[0-9a-f]{40}$/);
    assert.equal(siteLfdi('site-1'), plan.sites[0]?.lfdi, 'stable across runs');
    assert.notEqual(plan.sites[0]?.lfdi, plan.sites[1]?.lfdi);
  });

  test('spreads units over as few ports as possible, 247 unit ids per port', () => {
    const plan = planFleet(2000);
    assert.equal(plan.unitCount, 6000);
    assert.equal(plan.portCount, Math.ceil(6000 / MAX_UNITS_PER_PORT));
    const units = plan.sites.flatMap((s) => [s.pv, s.storage, s.meter]);
    const at247 = units.find((u) => u.unit === 247);
    const at248 = units.find((u) => u.unit === 248);
    assert.deepEqual([at247?.portIndex, at247?.unitId], [0, 247]);
    assert.deepEqual([at248?.portIndex, at248?.unitId], [1, 1]);
    assert.ok(units.every((u) => u.unitId >= 1 && u.unitId <= MAX_UNITS_PER_PORT));
    assert.throws(() => planFleet(0), RangeError);
  });
});

describe('planScenario', () => {
  const plan = planFleet(6);

  test('the day: an export limit 11:00-14:00, the peak 17:00-20:00, an outage 12:00-14:00, EVs from 16:30', () => {
    const day = planScenario(plan, { profile: 'csip-aus', speed: 144, seed: 7 });
    assert.equal(day.utilityControl.mode, 'opModExpLimW');
    assert.deepEqual(
      [day.utilityControl.startOffsetMs, day.utilityControl.endOffsetMs, day.utilityControl.publishOffsetMs],
      [11 * HOUR_MS, 14 * HOUR_MS, 8 * HOUR_MS],
    );
    assert.deepEqual([day.peakEvent.startOffsetMs, day.peakEvent.endOffsetMs], [17 * HOUR_MS, 20 * HOUR_MS]);
    assert.deepEqual(day.outage, {
      deviceId: 'battery-1',
      unit: 2,
      startOffsetMs: 12 * HOUR_MS,
      endOffsetMs: 14 * HOUR_MS,
    });
    assert.equal(day.arrivals.length, plan.chargerCount);
    for (const arrival of day.arrivals) {
      assert.ok(arrival.atOffsetMs >= 16.5 * HOUR_MS && arrival.atOffsetMs < 19.5 * HOUR_MS);
      assert.ok(arrival.ev.energyNeedWh > 0 && arrival.ev.energyNeedWh <= arrival.ev.capacityWh);
    }
  });

  test('the same seed gives the same day; another seed other EVs', () => {
    const a = planScenario(plan, { profile: 'csip-aus', speed: 144, seed: 1 });
    assert.deepEqual(planScenario(plan, { profile: 'csip-aus', speed: 144, seed: 1 }), a);
    assert.notDeepEqual(planScenario(plan, { profile: 'csip-aus', speed: 144, seed: 2 }).arrivals, a.arrivals);
  });

  test('CSIP (California) has no export limit: a generation limit in percent instead', () => {
    const day = planScenario(plan, { profile: 'csip', speed: 144, seed: 1 });
    assert.equal(day.utilityControl.mode, 'opModMaxLimW');
  });

  test('publication leads by 3 simulated hours, or 10 real seconds when that is longer', () => {
    assert.equal(publishLeadMs(60), PUBLISH_LEAD_MS);
    assert.equal(publishLeadMs(1440), MIN_LEAD_REAL_MS * 1440);
    const fast = planScenario(plan, { profile: 'csip-aus', speed: 3600, seed: 1 });
    // 10 real seconds at x3600 = 10 simulated hours: published at 01:00 for 11:00
    assert.equal(fast.utilityControl.publishOffsetMs, HOUR_MS);
    assert.equal(fast.peakEvent.publishOffsetMs, 7 * HOUR_MS);
  });
});

describe('cadenceFor', () => {
  test('every second up to SMALL_FLEET_SITES; slower, never faster, as the fleet grows', () => {
    const small = cadenceFor(SMALL_FLEET_SITES);
    assert.equal(small.pollMs, 1000);
    assert.equal(small.controlPeriodSeconds, 1);
    let previous = small;
    for (const sites of [SMALL_FLEET_SITES + 1, 500, 1000, 2000, 5000]) {
      const cadence = cadenceFor(sites);
      assert.ok(cadence.pollMs >= previous.pollMs, `${sites}: poll`);
      assert.ok(cadence.controlPeriodSeconds >= previous.controlPeriodSeconds, `${sites}: period`);
      assert.ok(cadence.sepPollSeconds >= previous.sepPollSeconds, `${sites}: 2030.5 poll`);
      previous = cadence;
    }
    assert.deepEqual(
      [cadenceFor(2000).pollMs, cadenceFor(2000).controlPeriodSeconds, cadenceFor(2000).sepPollSeconds],
      [20_000, 5, 60],
    );
  });
});

describe('the gateway configuration', () => {
  const input = {
    plan: planFleet(5),
    profile: 'csip-aus' as const,
    paths: demoPaths('/tmp/gridseam-demo-config-test'),
    apiPort: 0,
    tokens: { operator: 'operator-token-0123456789', viewer: 'viewer-token-0123456789' },
    modbusPorts: [1502],
    sepPort: 18443,
    vtnUrl: 'https://127.0.0.1:18081/openadr3/3.1.0',
    ocppPort: 19220,
    ocppPassword: 'station-password',
    cadence: cadenceFor(5),
    speed: 1440,
  };

  test('passes the config schema and its cross-key rules: devices, stations, both utilities, tokens', () => {
    const config = demoGatewayConfig(input);
    assert.equal(config.sunspec?.devices.length, 15);
    assert.equal(config.ocpp?.stations.length, 3);
    assert.equal(config.ocpp?.securityProfile, 2);
    assert.equal(config.utility?.ieee2030_5?.mode, 'aggregator');
    assert.equal(config.utility?.ieee2030_5?.endDevices?.length, 5);
    assert.equal(config.utility?.openadr3?.ca, input.paths.caCert);
    assert.deepEqual(
      config.api.tokens.map((t) => [t.name, t.role]),
      [
        ['demo-operator', 'operator'],
        ['demo-viewer', 'viewer'],
      ],
    );
    assert.ok(config.api.tokens.every((t) => t.tokenSha256 !== undefined && t.tokenEnv === undefined));
    // OCPP periods are asked in simulated seconds: stations divide them by the speed.
    assert.equal(config.ocpp?.meterIntervalSeconds, 2 * 1440);
    assert.equal(config.ocpp?.heartbeatIntervalSeconds, 86400);
    assert.equal(config.control?.periodSeconds, 1);
  });

  test('a bad value is a GW_ERR_CONFIG naming the key, as for a file', () => {
    assert.throws(
      () => demoGatewayConfig({ ...input, apiPort: 70000 }),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_CONFIG' && /api\.port/.test(error.message),
    );
    assert.throws(() => demoConfigObject({ ...input, modbusPorts: [] }), /no Modbus port 0/);
  });

  test('utility.openadr3.ca (added for the demo) only goes with an https VTN', () => {
    assert.throws(
      () => demoGatewayConfig({ ...input, vtnUrl: 'http://127.0.0.1:18081/openadr3/3.1.0' }),
      (error: unknown) =>
        GridseamError.is(error) && /utility\.openadr3\.ca only applies to an https vtnUrl/.test(error.message),
    );
  });
});
