/**
 * The `control` section of the gateway config: defaults, limits, unknown keys, and how it reaches
 * the ControlEngine through startGateway (the `controlPeriodMs` option still wins, for tests).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { startGateway } from '../../src/app.ts';
import { controlEngineOptions, type GatewayConfig, parseConfig } from '../../src/config/index.ts';
import { DEFAULT_STALE_AFTER_MS } from '../../src/control/engine.ts';
import { createLogger } from '../../src/log.ts';

const FILE = join('/nonexistent', 'gateway.yaml');
const BASE = "store: { kind: sqlite, path: ':memory:' }\napi: { port: 0 }\n";

function parse(text: string): GatewayConfig {
  return parseConfig(text, FILE);
}

function refused(text: string): GridseamError {
  try {
    parse(text);
  } catch (error) {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, 'GW_ERR_CONFIG');
    assert.ok(error.message.startsWith(`${FILE}: `), error.message);
    return error;
  }
  assert.fail(`accepted: ${text}`);
}

describe('config: the control section', () => {
  test('absent or empty: period 60 s, margin 30 s, no fixed freshness limit', () => {
    const absent = parse(BASE);
    assert.equal(absent.control, undefined);
    assert.deepEqual(controlEngineOptions(absent.control), { periodMs: 60_000, marginMs: 30_000 });
    const empty = parse(`${BASE}control: {}\n`);
    assert.deepEqual(empty.control, { periodSeconds: 60, marginSeconds: 30 });
    assert.deepEqual(controlEngineOptions(empty.control), { periodMs: 60_000, marginMs: 30_000 });
  });

  test('every key given', () => {
    const config = parse(`${BASE}control:\n  periodSeconds: 5\n  marginSeconds: 0\n  staleAfterSeconds: 45\n`);
    assert.deepEqual(config.control, { periodSeconds: 5, marginSeconds: 0, staleAfterSeconds: 45 });
    assert.deepEqual(controlEngineOptions(config.control), { periodMs: 5000, marginMs: 0, staleAfterMs: 45_000 });
  });

  test('out-of-range, fractional, wrongly typed and unknown keys are refused with their key path', () => {
    assert.match(refused(`${BASE}control: { periodSeconds: 0 }\n`).message, /: control\.periodSeconds must be >= 1$/);
    assert.match(
      refused(`${BASE}control: { periodSeconds: 1.5 }\n`).message,
      /: control\.periodSeconds must be an integer/,
    );
    assert.match(
      refused(`${BASE}control: { staleAfterSeconds: 0 }\n`).message,
      /: control\.staleAfterSeconds must be >= 1$/,
    );
    assert.match(refused(`${BASE}control: { marginSeconds: -1 }\n`).message, /: control\.marginSeconds must be >= 0$/);
    assert.match(
      refused(`${BASE}control: { periodSeconds: fast }\n`).message,
      /: control\.periodSeconds must be an integer \(got "fast"\)$/,
    );
    assert.match(
      refused(`${BASE}control: { periodSecond: 5 }\n`).message,
      /: control\.periodSecond is not an allowed key \(did you mean 'periodSeconds'\?\)$/,
    );
    assert.match(refused(`${BASE}control: 60\n`).message, /: control must be/);
  });

  test('startGateway gives the engine the configured period, margin and freshness; controlPeriodMs still wins', async () => {
    const logger = createLogger({ level: 'silent' });
    const configured = await startGateway(
      parse(`${BASE}control: { periodSeconds: 7, marginSeconds: 11, staleAfterSeconds: 90 }\n`),
      { logger },
    );
    try {
      assert.equal(configured.control.periodMs, 7000);
      assert.equal(configured.control.marginMs, 11_000);
      assert.equal(configured.control.staleAfterMs('any-device'), 90_000);
    } finally {
      await configured.close();
    }
    const defaults = await startGateway(parse(BASE), { logger, controlPeriodMs: 1000 });
    try {
      assert.equal(defaults.control.periodMs, 1000, 'the option overrides the config');
      assert.equal(defaults.control.marginMs, 30_000);
      // No edge polls an unknown device: the fixed fallback applies.
      assert.equal(defaults.control.staleAfterMs('any-device'), DEFAULT_STALE_AFTER_MS);
    } finally {
      await defaults.close();
    }
  });
});
