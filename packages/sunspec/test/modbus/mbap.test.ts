/**
 * MBAP codec vectors. PDUs are the examples of the MODBUS Application Protocol v1.1b3 (6.3 read
 * holding registers 108-110; 6.12 write 0x000A, 0x0102 at register 2 (address 1); 7 exception
 * response), wrapped in an MBAP header per Messaging on TCP/IP v1.0b 3.1.3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  decodeRequestPdu,
  decodeResponsePdu,
  encodeExceptionResponse,
  encodeReadHoldingRegistersRequest,
  encodeReadHoldingRegistersResponse,
  encodeWriteRegistersRequest,
  encodeWriteRegistersResponse,
  FrameReader,
  type MbapFrame,
  ModbusExceptionCode,
} from '../../src/modbus/mbap.ts';
import { hex, randomBytes } from './helpers.ts';

// tid 0x1234, protocol 0, length, unit 0x11, then the spec's PDU.
const FC3_REQUEST = '1234' + '0000' + '0006' + '11' + '03006b0003';
const FC3_RESPONSE = '1234' + '0000' + '0009' + '11' + '0306022b00000064';
const FC16_REQUEST = '1235' + '0000' + '000b' + '11' + '100001000204000a0102';
const FC16_RESPONSE = '1235' + '0000' + '0006' + '11' + '1000010002';
const FC3_EXCEPTION = '1236' + '0000' + '0003' + '11' + '8302';

function bytes(hexString: string): Buffer {
  return Buffer.from(hexString, 'hex');
}

function readAll(reader: FrameReader): { frames: MbapFrame[]; errors: string[] } {
  const frames: MbapFrame[] = [];
  const errors: string[] = [];
  for (let r = reader.read(); r !== undefined; r = reader.read()) {
    if (r.frame) frames.push({ ...r.frame, pdu: Uint8Array.from(r.frame.pdu) });
    else errors.push(r.error.kind);
  }
  return { frames, errors };
}

function assertProtocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(GridseamError.is(error));
    assert.equal(error.code, 'GW_ERR_DEVICE_PROTOCOL');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('MBAP encoding: spec vectors', () => {
  it('FC3 request and response (AP 6.3)', () => {
    assert.equal(hex(encodeReadHoldingRegistersRequest(0x1234, 0x11, 0x6b, 3)), FC3_REQUEST);
    assert.equal(
      hex(encodeReadHoldingRegistersResponse(0x1234, 0x11, Uint16Array.of(0x022b, 0x0000, 0x0064))),
      FC3_RESPONSE,
    );
  });

  it('FC16 request and response (AP 6.12)', () => {
    assert.equal(hex(encodeWriteRegistersRequest(0x1235, 0x11, 1, [0x000a, 0x0102])), FC16_REQUEST);
    assert.equal(hex(encodeWriteRegistersRequest(0x1235, 0x11, 1, Uint16Array.of(0x000a, 0x0102))), FC16_REQUEST);
    assert.equal(hex(encodeWriteRegistersResponse(0x1235, 0x11, 1, 2)), FC16_RESPONSE);
  });

  it('exception response: function code | 0x80, exception code (AP 7)', () => {
    assert.equal(hex(encodeExceptionResponse(0x1236, 0x11, 3, 2)), FC3_EXCEPTION);
    assert.equal(hex(encodeExceptionResponse(1, 0xff, 0x2b, 1)), '000100000003ffab01');
  });

  it('the largest requests fit one ADU of at most 260 bytes (AP 4.1)', () => {
    const read = encodeReadHoldingRegistersResponse(1, 1, new Uint16Array(125));
    assert.equal(read.length, 7 + 2 + 250);
    assert.equal(read.readUInt16BE(4), 253);
    const write = encodeWriteRegistersRequest(1, 1, 0, new Uint16Array(123));
    assert.equal(write.length, 7 + 6 + 246);
    assert.equal(write.readUInt16BE(4), 253);
  });

  it('rejects requests beyond 125 / 123 registers, past 65535, or with bad values (GW_ERR_VALIDATION)', () => {
    const invalid = (fn: () => unknown) =>
      assert.throws(fn, (e: unknown) => GridseamError.is(e) && e.code === 'GW_ERR_VALIDATION');
    invalid(() => encodeReadHoldingRegistersRequest(1, 1, 0, 126));
    invalid(() => encodeReadHoldingRegistersRequest(1, 1, 0, 0));
    invalid(() => encodeReadHoldingRegistersRequest(1, 1, 65500, 100));
    invalid(() => encodeReadHoldingRegistersRequest(1, 256, 0, 1));
    invalid(() => encodeWriteRegistersRequest(1, 1, 0, new Uint16Array(124)));
    invalid(() => encodeWriteRegistersRequest(1, 1, 0, []));
    invalid(() => encodeWriteRegistersRequest(1, 1, 0, [65536]));
    invalid(() => encodeWriteRegistersRequest(1, 1, 0, [1.5]));
    assert.equal(encodeReadHoldingRegistersRequest(1, 1, 65411, 125).length, 12);
  });
});

describe('MBAP request decoding (server side)', () => {
  it('decodes the spec FC3 and FC16 requests', () => {
    assert.deepEqual(decodeRequestPdu(bytes(FC3_REQUEST).subarray(7)), {
      request: { functionCode: 3, address: 0x6b, count: 3 },
    });
    assert.deepEqual(decodeRequestPdu(bytes(FC16_REQUEST).subarray(7)), {
      request: { functionCode: 16, address: 1, values: Uint16Array.of(0x000a, 0x0102) },
    });
  });

  it('answers exception 1 for an unsupported function, 3 for a bad quantity or length, 2 past 65535', () => {
    const exception = (pdu: string) => decodeRequestPdu(bytes(pdu)).exception;
    assert.equal(exception('0100000001'), ModbusExceptionCode.ILLEGAL_FUNCTION);
    assert.equal(exception('2b0e0100'), ModbusExceptionCode.ILLEGAL_FUNCTION);
    assert.equal(exception('0300000000'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'quantity 0');
    assert.equal(exception('030000007e'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'quantity 126');
    assert.equal(exception('03000000'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'short PDU');
    assert.equal(exception('030000000100'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'long PDU');
    assert.equal(exception('03ffff0002'), ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'range past 65535');
    assert.equal(exception('030000007d'), undefined, '125 is allowed');
    assert.equal(exception('1000000002040001'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'byte count > data');
    assert.equal(exception('100000000203000100'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'byte count != 2N');
    assert.equal(exception('10000000010200010002'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'extra data');
    assert.equal(exception('10000000'), ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'short FC16');
    assert.equal(exception('10ffff00020400010002'), ModbusExceptionCode.ILLEGAL_DATA_ADDRESS);
    const fc16Max = '1000000' + '07b' + 'f6' + '00'.repeat(246);
    assert.equal(exception(fc16Max), undefined, '123 registers is allowed');
    const fc16TooMany = '1000000' + '07c' + 'f8' + '00'.repeat(248);
    assert.equal(exception(fc16TooMany), ModbusExceptionCode.ILLEGAL_DATA_VALUE, '124 registers');
  });
});

describe('MBAP response decoding (client side)', () => {
  it('decodes the spec responses', () => {
    assert.deepEqual(decodeResponsePdu(bytes(FC3_RESPONSE).subarray(7), { functionCode: 3, count: 3 }), {
      kind: 'registers',
      values: Uint16Array.of(0x022b, 0, 0x64),
    });
    assert.deepEqual(decodeResponsePdu(bytes(FC16_RESPONSE).subarray(7), { functionCode: 16, address: 1, count: 2 }), {
      kind: 'written',
      address: 1,
      count: 2,
    });
    assert.deepEqual(decodeResponsePdu(bytes(FC3_EXCEPTION).subarray(7), { functionCode: 3, count: 3 }), {
      kind: 'exception',
      functionCode: 3,
      exception: 2,
    });
  });

  it('throws GW_ERR_DEVICE_PROTOCOL for responses that do not fit the request', () => {
    const fc3 = { functionCode: 3, count: 3 } as const;
    assertProtocolError(() => decodeResponsePdu(bytes('0406022b00000064'), fc3), /function code 4, expected 3/);
    assertProtocolError(() => decodeResponsePdu(bytes('0304022b0000'), fc3), /holds 2 registers, expected 3/);
    assertProtocolError(() => decodeResponsePdu(bytes('0306022b0000'), fc3), /byte count 6 but 4 data bytes/);
    assertProtocolError(() => decodeResponsePdu(bytes('03'), fc3), /byte count/);
    assertProtocolError(() => decodeResponsePdu(bytes('830201'), fc3), /exception response PDU of 3 bytes/);
    assertProtocolError(() => decodeResponsePdu(bytes('9002'), fc3), /function code 144/);
    const fc16 = { functionCode: 16, address: 1, count: 2 } as const;
    assertProtocolError(() => decodeResponsePdu(bytes('1000020002'), fc16), /echoes 2 registers at 2/);
    assertProtocolError(() => decodeResponsePdu(bytes('100001'), fc16), /FC16 response PDU of 3 bytes/);
  });
});

describe('FrameReader', () => {
  const stream = Buffer.concat([
    bytes(FC3_REQUEST),
    bytes(FC16_REQUEST),
    bytes(FC3_EXCEPTION),
    encodeReadHoldingRegistersResponse(
      0xbeef,
      7,
      Uint16Array.from({ length: 125 }, (_, i) => i * 3),
    ),
    bytes(FC16_RESPONSE),
  ]);
  const expected = (() => {
    const reader = new FrameReader();
    reader.push(stream);
    return readAll(reader).frames;
  })();

  it('cuts a stream of several frames in one chunk', () => {
    assert.equal(expected.length, 5);
    assert.deepEqual(
      expected.map((f) => [f.transactionId, f.unitId, f.pdu[0], f.pdu.length]),
      [
        [0x1234, 0x11, 3, 5],
        [0x1235, 0x11, 16, 10],
        [0x1236, 0x11, 0x83, 2],
        [0xbeef, 7, 3, 252],
        [0x1235, 0x11, 16, 5],
      ],
    );
    assert.equal(hex(expected[1]!.pdu), '100001000204000a0102');
  });

  it('yields the same frames for every split point of the stream, and byte by byte', () => {
    for (let split = 1; split < stream.length; split++) {
      const reader = new FrameReader();
      reader.push(stream.subarray(0, split));
      const first = readAll(reader);
      reader.push(stream.subarray(split));
      const second = readAll(reader);
      assert.deepEqual([...first.frames, ...second.frames], expected, `split at ${split}`);
      assert.deepEqual([...first.errors, ...second.errors], []);
      assert.equal(reader.pending, 0);
    }
    const reader = new FrameReader();
    const frames: MbapFrame[] = [];
    for (const byte of stream) {
      reader.push(Uint8Array.of(byte));
      frames.push(...readAll(reader).frames);
    }
    assert.deepEqual(frames, expected);
  });

  it('yields the same frames for every pair of split points (three chunks)', () => {
    for (let a = 1; a < stream.length; a += 3) {
      for (let b = a + 1; b < stream.length; b += 5) {
        const reader = new FrameReader();
        const frames: MbapFrame[] = [];
        for (const part of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) {
          reader.push(part);
          frames.push(...readAll(reader).frames);
        }
        assert.deepEqual(frames, expected, `splits at ${a}, ${b}`);
      }
    }
  });

  it('skips a frame whose protocol id is not 0 and stays in sync', () => {
    const reader = new FrameReader();
    const foreign = bytes('0001' + '0001' + '0003' + '01' + '0300');
    reader.push(Buffer.concat([foreign, bytes(FC3_REQUEST)]));
    const { frames, errors } = readAll(reader);
    assert.deepEqual(errors, ['protocol-id']);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.transactionId, 0x1234);
    assert.equal(reader.broken, false);
  });

  it('reports a length outside 2..254 once, then drops everything (broken)', () => {
    for (const length of ['0000', '0001', '00ff', 'ffff']) {
      const reader = new FrameReader();
      reader.push(bytes('0001' + '0000' + length + '01' + '03'));
      reader.push(bytes(FC3_REQUEST));
      const { frames, errors } = readAll(reader);
      assert.deepEqual(errors, ['length'], `length ${length}`);
      assert.deepEqual(frames, []);
      assert.equal(reader.broken, true);
      reader.reset();
      reader.push(bytes(FC3_REQUEST));
      assert.equal(readAll(reader).frames.length, 1, 'usable again after reset');
    }
    const edge = new FrameReader();
    edge.push(bytes('0001' + '0000' + '0002' + '01' + '03'));
    edge.push(bytes('0002' + '0000' + '00fe' + '01' + '03' + '00'.repeat(252)));
    assert.deepEqual(
      readAll(edge).frames.map((f) => f.pdu.length),
      [1, 253],
    );
  });

  it('never throws on random garbage and reports every problem', () => {
    let sawLength = 0;
    let sawProtocol = 0;
    let sawFrames = 0;
    for (let seed = 1; seed <= 500; seed++) {
      const garbage = randomBytes(seed, 1 + (seed % 300));
      const before = sawLength + sawProtocol + sawFrames;
      const reader = new FrameReader();
      let offset = 0;
      let chunk = 1 + (seed % 17);
      while (offset < garbage.length) {
        reader.push(garbage.subarray(offset, offset + chunk));
        offset += chunk;
        chunk = 1 + ((chunk * 7 + seed) % 31);
        const { frames, errors } = readAll(reader);
        sawFrames += frames.length;
        sawLength += errors.filter((e) => e === 'length').length;
        sawProtocol += errors.filter((e) => e === 'protocol-id').length;
        for (const frame of frames) {
          assert.ok(frame.pdu.length >= 1 && frame.pdu.length <= 253);
          assert.doesNotThrow(() => decodeRequestPdu(frame.pdu));
          assert.doesNotThrow(() => {
            try {
              decodeResponsePdu(frame.pdu, { functionCode: 3, count: 2 });
            } catch (error) {
              if (!(GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_PROTOCOL')) throw error;
            }
          });
        }
      }
      if (garbage.length >= 6) {
        // Six bytes hold a header: each such input ends in a frame, an error, or a frame in progress.
        assert.ok(sawLength + sawProtocol + sawFrames > before || reader.pending > 0, `seed ${seed}`);
      }
      if (reader.broken) {
        reader.push(bytes(FC3_REQUEST));
        assert.equal(reader.read(), undefined, 'a broken reader drops input');
      }
    }
    // Random headers almost always carry a bad length or a non-zero protocol id.
    assert.ok(sawLength > 400, `length errors: ${sawLength}`);
  });
});
