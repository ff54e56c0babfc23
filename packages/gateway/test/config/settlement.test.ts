/**
 * The `settlement` section of the gateway config: the market's time zone and interval reach the
 * SettlementService through startGateway; bad zones, intervals and rates are refused with their key path.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { startGateway } from '../../src/app.ts';
import { type GatewayConfig, parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';

const FILE = join('/nonexistent', 'gateway.yaml');
const BASE = "store: { kind: sqlite, path: ':memory:' }\napi: { port: 0 }\n";

function parse(text: string): GatewayConfig {
  return parseConfig(text, FILE);
}

function refusal(text: string): string {
  try {
    parse(text);
  } catch (error) {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, 'GW_ERR_CONFIG');
    return error.message;
  }
  assert.fail(`accepted: ${text}`);
}

describe('config: the settlement section', () => {
  test('is optional, and every key is read as given', () => {
    assert.equal(parse(BASE).settlement, undefined);
    const config = parse(
      `${BASE}settlement: { timeZone: America/New_York, intervalMinutes: 60, penaltyUsdPerKwh: { dr: 0.5 }, throughputUsdPerMwh: 12, toleranceKwh: 0.01 }\n`,
    );
    assert.deepEqual(config.settlement, {
      timeZone: 'America/New_York',
      intervalMinutes: 60,
      penaltyUsdPerKwh: { dr: 0.5 },
      throughputUsdPerMwh: 12,
      toleranceKwh: 0.01,
    });
  });

  test('an unknown zone, an interval that does not divide the hour, negative rates and unknown keys are refused', () => {
    assert.match(
      refusal(`${BASE}settlement: { timeZone: Mars/Olympus_Mons }\n`),
      /settlement\.timeZone must be an IANA time zone this runtime knows \(got "Mars\/Olympus_Mons"\)/,
    );
    assert.match(refusal(`${BASE}settlement: { intervalMinutes: 7 }\n`), /settlement\.intervalMinutes/);
    assert.match(refusal(`${BASE}settlement: { penaltyUsdPerKwh: { dr: -1 } }\n`), /settlement\.penaltyUsdPerKwh/);
    assert.match(refusal(`${BASE}settlement: { throughputUsdPerMwh: .nan }\n`), /settlement\.throughputUsdPerMwh/);
    assert.match(refusal(`${BASE}settlement: { zone: UTC }\n`), /settlement\.zone is not an allowed key/);
  });

  test('startGateway settles in the configured zone and interval', async () => {
    const gateway = await startGateway(
      parse(`${BASE}settlement: { timeZone: Australia/Sydney, intervalMinutes: 30 }\n`),
      {
        logger: createLogger({ level: 'silent' }),
      },
    );
    try {
      assert.equal(gateway.settlement.timeZone, 'Australia/Sydney');
      assert.equal(gateway.settlement.intervalMinutes, 30);
    } finally {
      await gateway.close();
    }
  });
});
