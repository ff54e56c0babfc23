import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, GridseamError } from '../src/index.ts';

describe('GridseamError', () => {
  it('takes status and retryability from the code table', () => {
    const error = new GridseamError('GW_ERR_STORE_UNAVAILABLE', 'db down', { cause: new Error('ECONNREFUSED') });
    assert.equal(error.statusCode, 503);
    assert.equal(error.retryable, true);
    assert.deepEqual(error.toJSON(), { code: 'GW_ERR_STORE_UNAVAILABLE', message: 'db down', retryable: true });
    assert.ok(error.cause instanceof Error);
  });

  it('is recognised without instanceof, and plain errors are not', () => {
    assert.equal(GridseamError.is(new GridseamError('GW_ERR_NOT_FOUND', 'x')), true);
    assert.equal(GridseamError.is(Object.assign(new Error('x'), { code: 'GW_ERR_NOT_FOUND' })), false);
    assert.equal(GridseamError.is(null), false);
  });

  it('uses GW_ERR_ codes only', () => {
    for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^GW_ERR_[A-Z_]+$/);
  });
});
