/** What a site reports up over 2030.5, from canonical devices and their latest readings (pure). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DER_TYPE } from '@gridseam/ieee2030-5';
import type { Device, Reading } from '@gridseam/model';
import { latestValues, siteReadings, siteReports } from '../../src/seams/ieee2030-5-reports.ts';

const adapter = { kind: 'simulator', address: 'sim:x' };
const pv: Device = {
  id: 'pv',
  siteId: 's',
  class: 'pv-inverter',
  adapter,
  enabled: true,
  capabilities: { ratings: { maxW: 6000, maxVA: 6000 }, controls: ['generationLimit', 'exportLimit'] },
};
const battery: Device = {
  id: 'bat',
  siteId: 's',
  class: 'battery',
  adapter,
  enabled: true,
  capabilities: {
    ratings: { maxW: 5000, maxVA: 5000 },
    storage: { capacityWh: 10000, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10 },
    controls: ['fixedW'],
  },
};
const meter: Device = { id: 'm', siteId: 's', class: 'meter', adapter, enabled: true, capabilities: { controls: [] } };

function reading(deviceId: string, measurand: 'activePower' | 'stateOfCharge' | 'voltage', value: number): Reading {
  const unit = measurand === 'activePower' ? 'W' : measurand === 'voltage' ? 'V' : '%';
  return { deviceId, ts: 1000, measurand, value, unit };
}

const latest = new Map([
  ['pv', latestValues([reading('pv', 'activePower', 4000), reading('pv', 'voltage', 240)])],
  ['bat', latestValues([reading('bat', 'activePower', -1500), reading('bat', 'stateOfCharge', 60)])],
  ['m', latestValues([reading('m', 'activePower', 1800)])],
]);

describe('site reports', () => {
  test('one DER for the site: summed ratings, storage, SoC and mode, availability', () => {
    const reports = siteReports({ devices: [pv, battery, meter], latest });
    assert.equal(reports.capability?.derType, DER_TYPE.pvAndStorage);
    assert.deepEqual(reports.capability?.ratings, { maxW: 11000, maxVA: 11000 });
    assert.deepEqual(reports.capability?.storage, { capacityWh: 10000, maxChargeW: 5000, maxDischargeW: 5000 });
    assert.deepEqual(reports.capability?.controls, ['exportLimit', 'fixedW', 'generationLimit']);
    assert.equal(reports.setMaxW, 11000);
    assert.equal(reports.status?.socPct, 60);
    assert.equal(reports.status?.storageMode, 'charging');
    assert.equal(reports.status?.connected, true);
    assert.equal(reports.availability?.availableW, 9000, 'PV output plus battery discharge above its floor');
    assert.equal(reports.availability?.reservePct, 10);
    assert.equal(reports.availability?.availabilityDurationS, 3600, '5 kWh above the floor at 5 kW');
  });

  test('no DER: nothing to report; readings from the meter and the DERs', () => {
    assert.deepEqual(siteReports({ devices: [meter], latest }), {});
    assert.deepEqual(siteReadings({ devices: [pv, battery, meter], latest }), {
      site: { realPowerW: 1800 },
      der: { realPowerW: 2500, voltageV: 240 },
    });
    assert.equal(siteReadings({ devices: [pv], latest: new Map() }), undefined);
  });
});
