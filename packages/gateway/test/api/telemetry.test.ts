import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Reading } from '@gridseam/model';
import { parseDurationMs } from '../../src/api/duration.ts';
import { battery, type Harness, harness, json, site, T0 } from './support.ts';

const FIVE_MIN = 300_000;
/** Ten minutes before T0, aligned to a 5-minute bucket boundary. */
const BASE = T0 - (T0 % FIVE_MIN) - 2 * FIVE_MIN;

interface Raw {
  deviceId: string;
  measurand: string;
  from: number;
  to: number;
  readings: Reading[];
}
interface Downsampled {
  bucketMs: number;
  buckets: Array<{ start: number; avg: number; min: number; max: number; count: number }>;
}

describe('API telemetry', () => {
  let h: Harness;

  before(async () => {
    h = await harness();
    await h.call('operator', { method: 'POST', url: '/api/sites', payload: site() });
    await h.call('operator', { method: 'POST', url: '/api/devices', payload: battery() });
    const readings: Reading[] = [];
    // One activePower reading a minute for ten minutes: 0, 100, ..., 900 W.
    for (let i = 0; i < 10; i++)
      readings.push({ deviceId: 'bat-1', ts: BASE + i * 60_000, measurand: 'activePower', value: i * 100, unit: 'W' });
    readings.push({ deviceId: 'bat-1', ts: BASE, measurand: 'stateOfCharge', value: 40, unit: '%' });
    readings.push({ deviceId: 'bat-1', ts: BASE + 120_000, measurand: 'stateOfCharge', value: 42, unit: '%' });
    readings.push({
      deviceId: 'bat-1',
      ts: BASE + 60_000,
      measurand: 'operatingState',
      value: 'charging',
      unit: 'state',
    });
    assert.equal(await h.store.telemetry.write(readings), readings.length);
  });
  after(() => h.close());

  const url = (query: string) => `/api/devices/bat-1/telemetry?${query}`;

  it('answers raw readings in [from, to), oldest first, with a limit', async () => {
    const response = await h.call('viewer', {
      method: 'GET',
      url: url(`measurand=activePower&from=${BASE + 60_000}&to=${BASE + 300_000}`),
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = json<Raw>(response);
    assert.equal(body.from, BASE + 60_000);
    assert.deepEqual(
      body.readings.map((r) => r.value),
      [100, 200, 300, 400],
    );
    const limited = json<Raw>(
      await h.call('viewer', { method: 'GET', url: url(`measurand=activePower&from=${BASE}&to=${T0}&limit=3`) }),
    );
    assert.deepEqual(
      limited.readings.map((r) => r.ts),
      [BASE, BASE + 60_000, BASE + 120_000],
    );
  });

  it('defaults to the last 24 hours up to now', async () => {
    const body = json<Raw>(await h.call('viewer', { method: 'GET', url: url('measurand=activePower') }));
    assert.equal(body.to, T0);
    assert.equal(body.from, T0 - 86_400_000);
    assert.equal(body.readings.length, 10);
  });

  it('downsamples into aligned buckets with avg, min, max and count', async () => {
    const expected = [
      { start: BASE, avg: 200, min: 0, max: 400, count: 5 },
      { start: BASE + FIVE_MIN, avg: 700, min: 500, max: 900, count: 5 },
    ];
    for (const bucket of ['5m', 'PT5M', '300000', '300s']) {
      const response = await h.call('viewer', {
        method: 'GET',
        url: url(`measurand=activePower&from=${BASE}&to=${T0}&bucket=${bucket}`),
      });
      assert.equal(response.statusCode, 200, response.body);
      const body = json<Downsampled>(response);
      assert.equal(body.bucketMs, FIVE_MIN, bucket);
      assert.deepEqual(body.buckets, expected, bucket);
    }
  });

  it('answers the latest reading of each measurand', async () => {
    const response = await h.call('viewer', { method: 'GET', url: '/api/devices/bat-1/telemetry/latest' });
    assert.equal(response.statusCode, 200);
    const latest = new Map(json<Reading[]>(response).map((r) => [r.measurand, r.value]));
    assert.equal(latest.get('activePower'), 900);
    assert.equal(latest.get('stateOfCharge'), 42);
    assert.equal(latest.get('operatingState'), 'charging');
  });

  it('400 with the failing parameter for bad queries, 404 for an unknown device', async () => {
    for (const [query, path] of [
      ['measurand=activePower&bucket=often', '/bucket'],
      ['measurand=activePower&bucket=0', '/bucket'],
      [`measurand=activePower&from=0&to=${T0}&bucket=1ms`, '/bucket'],
      ['measurand=operatingState&bucket=5m', '/measurand'],
      ['measurand=wattage', '/measurand'],
      ['', '/measurand'],
      [`measurand=activePower&from=${T0}&to=${T0}`, '/from'],
      ['measurand=activePower&from=-5', '/from'],
      ['measurand=activePower&limit=0', '/limit'],
      ['measurand=activePower&phase=Z', '/phase'],
    ]) {
      const response = await h.call('viewer', { method: 'GET', url: url(query ?? '') });
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      assert.equal(json<{ issues: Array<{ path: string }> }>(response).issues[0]?.path, path, query);
    }
    const unknown = await h.call('viewer', {
      method: 'GET',
      url: '/api/devices/ghost/telemetry?measurand=activePower',
    });
    assert.equal(unknown.statusCode, 404);
    const unknownLatest = await h.call('viewer', { method: 'GET', url: '/api/devices/ghost/telemetry/latest' });
    assert.equal(unknownLatest.statusCode, 404);
  });
});

describe('parseDurationMs', () => {
  it('reads plain ms, unit suffixes and ISO 8601 day/time durations', () => {
    const cases: Array<[string, number | undefined]> = [
      ['60000', 60_000],
      ['500ms', 500],
      ['30s', 30_000],
      ['1.5s', 1500],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['1d', 86_400_000],
      ['PT5M', 300_000],
      ['PT1H30M', 5_400_000],
      ['P1DT12H', 129_600_000],
      ['PT0.5S', 500],
      ['0', undefined],
      ['0s', undefined],
      ['P', undefined],
      ['PT', undefined],
      ['P1M', undefined],
      ['5 m', undefined],
      ['-5m', undefined],
      ['5w', undefined],
      ['', undefined],
    ];
    for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
  });
});
