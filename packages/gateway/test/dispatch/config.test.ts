/**
 * The `dispatch` config section: defaults, a misspelt key refused with its key path, a CSV price
 * file's path resolved against the config file's folder and read as the price source.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { parseConfig } from '../../src/config/index.ts';
import { dispatchSettings, openPriceSource } from '../../src/dispatch/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

describe('dispatch config section', () => {
  const temp = useTempDir('gridseam-dispatch-config-');

  test('an empty section gives the documented defaults', () => {
    const config = parseConfig('dispatch: {}\n', join(temp.dir(), 'gateway.yaml'));
    assert.ok(config.dispatch);
    const settings = dispatchSettings(config.dispatch);
    assert.equal(settings.programId, 'dispatch');
    assert.equal(settings.primacy, 200);
    assert.equal(settings.cadenceMs, 300_000);
    assert.equal(settings.intervalMs, 900_000);
    assert.equal(settings.horizonIntervals, 96);
    // An event must reach the next plan (300 s over 900 s intervals), plus one interval.
    assert.equal(settings.setpointIntervals, 2);
    assert.deepEqual(settings.prices, { kind: 'sample' });
    assert.deepEqual(settings.terminal, { kind: 'at-least-initial' });
    assert.equal(settings.roundTripEfficiency, 0.9);
    assert.equal(settings.useStateOfHealth, true);
    assert.deepEqual(settings.stress, { k: 1 / 6000, b: 2 });
    assert.equal(parseConfig('{}\n', join(temp.dir(), 'gateway.yaml')).dispatch, undefined);
  });

  test('a misspelt key is refused with its key path', () => {
    assert.throws(
      () => parseConfig('dispatch: { cadenceSecond: 60 }\n', join(temp.dir(), 'gateway.yaml')),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_CONFIG' && /dispatch/.test(error.message),
    );
    assert.throws(
      () => parseConfig('dispatch: { prices: { kind: csv } }\n', join(temp.dir(), 'gateway.yaml')),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_CONFIG',
    );
  });

  test("a CSV price file's relative path resolves against the config file; repeat-days uses its whole days", async () => {
    const rows = ['interval_start,price_usd_per_mwh'];
    for (let hour = 0; hour < 24; hour++) rows.push(`2024-01-01T${String(hour).padStart(2, '0')}:00Z,${hour}`);
    rows.push('2024-01-02T00:00Z,99'); // a partial day: not used
    await temp.file('prices.csv', `${rows.join('\n')}\n`);
    const config = parseConfig(
      'dispatch: { prices: { kind: csv, path: prices.csv, mapping: repeat-days } }\n',
      join(temp.dir(), 'gateway.yaml'),
    );
    const prices = config.dispatch?.prices;
    assert.equal(prices?.kind === 'csv' ? prices.path : undefined, join(temp.dir(), 'prices.csv'));
    assert.ok(prices);
    const source = await openPriceSource(prices);
    const at = Date.UTC(2026, 5, 1, 17, 0);
    const result = source.prices([at, at + 1_800_000], 3_600_000);
    assert.deepEqual(result.energyUsdPerMwh, [17, 17.5]);
  });
});
