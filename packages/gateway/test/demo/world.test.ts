/**
 * Errors crossing from the demo's world thread to the main thread keep what the CLI needs to print
 * one line with the right exit code: a GridseamError its code, an operating-system error its errno.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { DemoStartError } from '../../src/demo/errors.ts';
import { isWorldConfig, worldError } from '../../src/demo/world.ts';
import { errorFromWorld } from '../../src/demo/world-client.ts';

describe('world thread errors', () => {
  test('a GridseamError keeps its code', () => {
    const back = errorFromWorld(worldError(new GridseamError('GW_ERR_CONFIG', 'listen.port: bad')));
    assert.ok(GridseamError.is(back));
    assert.equal(back.code, 'GW_ERR_CONFIG');
    assert.equal(back.message, 'listen.port: bad');
  });

  test('an errno error keeps its errno (exit 1, printed with it)', () => {
    const cause = Object.assign(new Error('listen EADDRINUSE: address already in use'), { code: 'EADDRINUSE' });
    const back = errorFromWorld(worldError(new DemoStartError('cannot listen', { cause })));
    assert.ok(back instanceof DemoStartError);
    assert.equal(back.code, 'EADDRINUSE');
  });

  test('anything else is GW_ERR_INTERNAL with its message; only our workerData starts a world', () => {
    const back = errorFromWorld(worldError(new TypeError('boom')));
    assert.ok(GridseamError.is(back));
    assert.equal(back.code, 'GW_ERR_INTERNAL');
    assert.equal(back.message, 'boom');
    assert.equal(isWorldConfig(null), false);
    assert.equal(isWorldConfig({ gridseamSqliteInbox: true }), false);
    assert.equal(isWorldConfig({ gridseamDemoWorld: true }), true);
  });
});
