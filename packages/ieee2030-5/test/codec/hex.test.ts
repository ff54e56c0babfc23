import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { bitsToHex, hasBit, hexBitmap, parseHexBitmap } from '../../src/codec/index.ts';
import { DER_CONTROL_TYPE_BITS, DOE_CONTROL_BITS } from '../../src/resources/enums.ts';

const isValidationError = (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION';

describe('hex bitmap helpers', () => {
  it('hexBitmap pads to the byte count, lower case, and refuses what does not fit', () => {
    assert.equal(hexBitmap(3, 1), '03');
    assert.equal(hexBitmap(0, 4), '00000000');
    assert.equal(hexBitmap(0xabcdef, 4), '00abcdef');
    assert.equal(hexBitmap(1n << 100n, 16), '00000010000000000000000000000000');
    assert.throws(() => hexBitmap(256, 1), isValidationError);
    assert.throws(() => hexBitmap(-1, 4), isValidationError);
    assert.throws(() => hexBitmap(1.5, 4), isValidationError);
    assert.throws(() => hexBitmap(Number.NaN, 4), isValidationError);
    assert.throws(() => hexBitmap(1, 0), isValidationError);
  });

  it('parseHexBitmap reads either case and refuses non-hex or more than 53 bits', () => {
    assert.equal(parseHexBitmap('03'), 3);
    assert.equal(parseHexBitmap('01FFFD'), 0x1fffd);
    assert.equal(parseHexBitmap('f'), 15);
    assert.throws(() => parseHexBitmap(''), isValidationError);
    assert.throws(() => parseHexBitmap('0x03'), isValidationError);
    assert.throws(() => parseHexBitmap('ffffffffffffffff'), isValidationError);
  });

  it('hasBit and bitsToHex work with the DERControlType and DOE bit tables', () => {
    const modes = bitsToHex([DER_CONTROL_TYPE_BITS.opModConnect, DER_CONTROL_TYPE_BITS.opModMaxLimW], 4);
    assert.equal(modes, '00100004');
    assert.equal(hasBit(modes, DER_CONTROL_TYPE_BITS.opModMaxLimW), true);
    assert.equal(hasBit(modes, DER_CONTROL_TYPE_BITS.opModFixedW), false);
    const doe = bitsToHex(Object.values(DOE_CONTROL_BITS), 1);
    assert.equal(doe, '0f');
    assert.throws(() => bitsToHex([8], 1), isValidationError);
    assert.throws(() => hasBit('zz', 0), isValidationError);
  });
});
