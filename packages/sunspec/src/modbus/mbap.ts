/**
 * Modbus TCP frame codec: MBAP header + PDU for FC3 (read holding registers), FC16 (write multiple
 * registers) and exception responses. Pure: bytes in, objects out, no I/O, no timers.
 *
 * References:
 * - MODBUS Application Protocol Specification v1.1b3 ("AP"): 4.1 PDU of at most 253 bytes,
 *   6.3 FC03, 6.12 FC16, 7 exception responses and codes.
 * - MODBUS Messaging on TCP/IP Implementation Guide v1.0b ("TCP"): 3.1.3 MBAP header
 *   (transaction id, protocol id 0 = MODBUS, length = unit id + PDU bytes, unit id).
 *
 * Client side, a frame that breaks the spec throws GridseamError GW_ERR_DEVICE_PROTOCOL. Server
 * side, a bad request decodes to the exception code the server must answer; nothing throws.
 */
import { GridseamError } from '@gridseam/model';
import { MAX_READ_REGISTERS, MAX_WRITE_REGISTERS } from './transport.ts';

/** Transaction id (2) + protocol id (2) + length (2) + unit id (1); TCP 3.1.3. */
export const MBAP_HEADER_LENGTH = 7;
/** AP 4.1: PDU <= 253 bytes, so a TCP ADU is at most 7 + 253 = 260 bytes. */
export const MAX_PDU_LENGTH = 253;
export const MAX_ADU_LENGTH = MBAP_HEADER_LENGTH + MAX_PDU_LENGTH;
/** The MBAP length counts the unit id and the PDU: at least unit id + function code. */
export const MIN_MBAP_LENGTH_FIELD = 2;
export const MAX_MBAP_LENGTH_FIELD = 1 + MAX_PDU_LENGTH;
/** TCP 3.1.3: protocol identifier 0 = MODBUS. */
export const MODBUS_PROTOCOL_ID = 0;

export const FC_READ_HOLDING_REGISTERS = 0x03;
export const FC_WRITE_MULTIPLE_REGISTERS = 0x10;
/** AP 7: an exception response echoes the function code with the high bit set. */
export const EXCEPTION_FLAG = 0x80;

/** AP 7, "MODBUS Exception Codes". */
export const ModbusExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  ACKNOWLEDGE: 0x05,
  SERVER_DEVICE_BUSY: 0x06,
  MEMORY_PARITY_ERROR: 0x08,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_FAILED_TO_RESPOND: 0x0b,
} as const;

/** What a server handler returns to make the server answer an exception response. */
export interface ModbusException {
  exception: number;
}

export function isModbusException(value: unknown): value is ModbusException {
  return (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    typeof (value as { exception?: unknown }).exception === 'number'
  );
}

/** One Modbus TCP frame with a valid MBAP header (protocol id 0, length within bounds). */
export interface MbapFrame {
  transactionId: number;
  unitId: number;
  /** Function code and data: a view of the received bytes, not a copy. */
  pdu: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function frame(transactionId: number, unitId: number, pduLength: number): Buffer {
  const adu = Buffer.allocUnsafe(MBAP_HEADER_LENGTH + pduLength);
  adu.writeUInt16BE(transactionId & 0xffff, 0);
  adu.writeUInt16BE(MODBUS_PROTOCOL_ID, 2);
  adu.writeUInt16BE(1 + pduLength, 4);
  adu[6] = unitId & 0xff;
  return adu;
}

function checkUint16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new GridseamError('GW_ERR_VALIDATION', `${name} must be an integer 0..65535, got ${value}`, {
      issues: [{ path: `/${name}`, message: 'expected an integer 0..65535' }],
    });
  }
}

function checkUnit(unitId: number): void {
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 0xff) {
    throw new GridseamError('GW_ERR_VALIDATION', `unit id must be an integer 0..255, got ${unitId}`, {
      issues: [{ path: '/unit', message: 'expected an integer 0..255' }],
    });
  }
}

/** Checks a register range: count 1..max (AP 6.3 / 6.12) and address + count within 0..65535. */
export function checkRegisterRange(address: number, count: number, max: number): void {
  checkUint16('address', address);
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new GridseamError('GW_ERR_VALIDATION', `register count must be 1..${max}, got ${count}`, {
      issues: [{ path: '/count', message: `expected 1..${max} registers` }],
    });
  }
  if (address + count > 0x10000) {
    throw new GridseamError('GW_ERR_VALIDATION', `registers ${address}..${address + count - 1} pass 65535`, {
      issues: [{ path: '/address', message: 'address + count must not pass 65536' }],
    });
  }
}

/** AP 6.3 request: FC 0x03, starting address (2), quantity of registers (2; 1..125). */
export function encodeReadHoldingRegistersRequest(
  transactionId: number,
  unitId: number,
  address: number,
  count: number,
): Buffer {
  checkUnit(unitId);
  checkRegisterRange(address, count, MAX_READ_REGISTERS);
  return addressCountFrame(transactionId, unitId, FC_READ_HOLDING_REGISTERS, address, count);
}

/** The 5-byte PDU both an FC3 request and an FC16 response carry: FC, address (2), quantity (2). */
function addressCountFrame(
  transactionId: number,
  unitId: number,
  functionCode: number,
  address: number,
  count: number,
): Buffer {
  const adu = frame(transactionId, unitId, 5);
  adu[7] = functionCode;
  adu.writeUInt16BE(address, 8);
  adu.writeUInt16BE(count, 10);
  return adu;
}

/** AP 6.12 request: FC 0x10, address (2), quantity (2; 1..123), byte count (1) = 2 x N, values. */
export function encodeWriteRegistersRequest(
  transactionId: number,
  unitId: number,
  address: number,
  values: Uint16Array | readonly number[],
): Buffer {
  checkUnit(unitId);
  checkRegisterRange(address, values.length, MAX_WRITE_REGISTERS);
  const adu = frame(transactionId, unitId, 6 + 2 * values.length);
  adu[7] = FC_WRITE_MULTIPLE_REGISTERS;
  adu.writeUInt16BE(address, 8);
  adu.writeUInt16BE(values.length, 10);
  adu[12] = 2 * values.length;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    checkUint16(`values/${i}`, value);
    adu.writeUInt16BE(value, 13 + 2 * i);
  }
  return adu;
}

/** AP 6.3 response: FC 0x03, byte count (1) = 2 x N, register values. */
export function encodeReadHoldingRegistersResponse(transactionId: number, unitId: number, values: Uint16Array): Buffer {
  const adu = frame(transactionId, unitId, 2 + 2 * values.length);
  adu[7] = FC_READ_HOLDING_REGISTERS;
  adu[8] = 2 * values.length;
  for (let i = 0, offset = 9; i < values.length; i++, offset += 2) {
    const value = values[i] as number;
    adu[offset] = value >>> 8;
    adu[offset + 1] = value & 0xff;
  }
  return adu;
}

/** AP 6.12 response: FC 0x10, starting address (2), quantity of registers (2). */
export function encodeWriteRegistersResponse(
  transactionId: number,
  unitId: number,
  address: number,
  count: number,
): Buffer {
  return addressCountFrame(transactionId, unitId, FC_WRITE_MULTIPLE_REGISTERS, address, count);
}

/** AP 7: function code | 0x80, exception code (1). */
export function encodeExceptionResponse(
  transactionId: number,
  unitId: number,
  functionCode: number,
  exceptionCode: number,
): Buffer {
  const adu = frame(transactionId, unitId, 2);
  adu[7] = (functionCode | EXCEPTION_FLAG) & 0xff;
  adu[8] = exceptionCode & 0xff;
  return adu;
}

// ---------------------------------------------------------------------------------------------
// Framing

/** Why a stream of bytes is not valid Modbus TCP. */
export interface FrameError {
  /** `protocol-id`: the frame was skipped, the stream is still in sync. `length`: framing is lost. */
  kind: 'protocol-id' | 'length';
  message: string;
  transactionId: number;
}

export type FrameReadResult = { frame: MbapFrame; error?: undefined } | { frame?: undefined; error: FrameError };

/**
 * Cuts a TCP byte stream into Modbus TCP frames (TCP 3.1.3: the length field says how many bytes
 * follow it). Takes chunks of any size: a frame split over several chunks, or several frames in
 * one chunk. Never throws on input.
 *
 * A frame whose protocol id is not 0 is reported and skipped (its length still delimits it). A
 * length outside 2..254 means the stream can no longer be framed: it is reported once, then the
 * reader is `broken` and drops everything; the owner should close the connection.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;
  private brokenFlag = false;

  get broken(): boolean {
    return this.brokenFlag;
  }

  /** Bytes of an incomplete frame held back, waiting for more input. */
  get pending(): number {
    return this.buffer.length - this.offset;
  }

  push(chunk: Uint8Array): void {
    if (this.brokenFlag || chunk.length === 0) return;
    const rest = this.buffer.length - this.offset;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (rest === 0) {
      // Common case: the previous chunk ended on a frame boundary; read this one in place.
      this.buffer = bytes;
    } else {
      this.buffer = Buffer.concat([this.buffer.subarray(this.offset), bytes]);
    }
    this.offset = 0;
  }

  /** The next complete frame or framing error, or undefined when more bytes are needed. */
  read(): FrameReadResult | undefined {
    if (this.brokenFlag) return undefined;
    const available = this.buffer.length - this.offset;
    if (available < 6) return undefined;
    const start = this.offset;
    const buf = this.buffer;
    const transactionId = (buf[start]! << 8) | buf[start + 1]!;
    const protocolId = (buf[start + 2]! << 8) | buf[start + 3]!;
    const length = (buf[start + 4]! << 8) | buf[start + 5]!;
    if (length < MIN_MBAP_LENGTH_FIELD || length > MAX_MBAP_LENGTH_FIELD) {
      this.breakStream();
      return {
        error: {
          kind: 'length',
          message: `MBAP length ${length} outside ${MIN_MBAP_LENGTH_FIELD}..${MAX_MBAP_LENGTH_FIELD}`,
          transactionId,
        },
      };
    }
    if (available < 6 + length) return undefined;
    this.offset = start + 6 + length;
    if (protocolId !== MODBUS_PROTOCOL_ID) {
      return {
        error: { kind: 'protocol-id', message: `MBAP protocol id ${protocolId}, expected 0`, transactionId },
      };
    }
    return {
      frame: { transactionId, unitId: buf[start + 6]!, pdu: buf.subarray(start + 7, start + 6 + length) },
    };
  }

  /** Drops buffered bytes and clears the broken state, e.g. for a new connection. */
  reset(): void {
    this.buffer = Buffer.alloc(0);
    this.offset = 0;
    this.brokenFlag = false;
  }

  private breakStream(): void {
    this.brokenFlag = true;
    this.buffer = Buffer.alloc(0);
    this.offset = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Server side: request PDUs

export type ModbusRequest =
  | { functionCode: typeof FC_READ_HOLDING_REGISTERS; address: number; count: number }
  | { functionCode: typeof FC_WRITE_MULTIPLE_REGISTERS; address: number; values: Uint16Array };

export type DecodedRequest =
  | { request: ModbusRequest; exception?: undefined }
  | { request?: undefined; functionCode: number; exception: number; reason: string };

function rejectRequest(functionCode: number, exception: number, reason: string): DecodedRequest {
  return { functionCode, exception, reason };
}

/**
 * Decodes a request PDU into a request or the exception code the server answers (AP 6.3 and 6.12
 * state diagrams: unsupported function -> 1; bad quantity or byte count -> 3; a range past 65535 ->
 * 2). A PDU whose length does not match its function is answered 3: AP 7 says code 3 "may also
 * indicate a fault in the structure of the remainder of a complex request, such as that the
 * implied length is incorrect".
 */
export function decodeRequestPdu(pdu: Uint8Array): DecodedRequest {
  const functionCode = pdu[0] ?? 0;
  if (functionCode === FC_READ_HOLDING_REGISTERS) {
    if (pdu.length !== 5) {
      return rejectRequest(functionCode, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `FC3 PDU of ${pdu.length} bytes`);
    }
    const address = (pdu[1]! << 8) | pdu[2]!;
    const count = (pdu[3]! << 8) | pdu[4]!;
    if (count < 1 || count > MAX_READ_REGISTERS) {
      return rejectRequest(functionCode, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `FC3 quantity ${count}`);
    }
    if (address + count > 0x10000) {
      return rejectRequest(functionCode, ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'FC3 range passes 65535');
    }
    return { request: { functionCode, address, count } };
  }
  if (functionCode === FC_WRITE_MULTIPLE_REGISTERS) {
    if (pdu.length < 6) {
      return rejectRequest(functionCode, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `FC16 PDU of ${pdu.length} bytes`);
    }
    const address = (pdu[1]! << 8) | pdu[2]!;
    const count = (pdu[3]! << 8) | pdu[4]!;
    const byteCount = pdu[5]!;
    if (count < 1 || count > MAX_WRITE_REGISTERS || byteCount !== 2 * count || pdu.length !== 6 + byteCount) {
      return rejectRequest(
        functionCode,
        ModbusExceptionCode.ILLEGAL_DATA_VALUE,
        `FC16 quantity ${count}, byte count ${byteCount}, ${pdu.length - 6} data bytes`,
      );
    }
    if (address + count > 0x10000) {
      return rejectRequest(functionCode, ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'FC16 range passes 65535');
    }
    const values = new Uint16Array(count);
    for (let i = 0; i < count; i++) values[i] = (pdu[6 + 2 * i]! << 8) | pdu[7 + 2 * i]!;
    return { request: { functionCode, address, values } };
  }
  return rejectRequest(functionCode, ModbusExceptionCode.ILLEGAL_FUNCTION, `function code ${functionCode}`);
}

// ---------------------------------------------------------------------------------------------
// Client side: response PDUs

/** What the client asked for, to check the response against. */
export type ExpectedResponse =
  | { functionCode: typeof FC_READ_HOLDING_REGISTERS; count: number }
  | { functionCode: typeof FC_WRITE_MULTIPLE_REGISTERS; address: number; count: number };

export type ModbusResponse =
  | { kind: 'registers'; values: Uint16Array }
  | { kind: 'written'; address: number; count: number }
  | { kind: 'exception'; functionCode: number; exception: number };

function protocolError(message: string, details: Record<string, unknown>): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_PROTOCOL', message, { details });
}

/** The `details` of a response error (built only when one is thrown). */
function responseDetails(functionCode: number, expected: ExpectedResponse): Record<string, unknown> {
  return { functionCode, expectedFunctionCode: expected.functionCode };
}

/** Bytes of the ArrayBuffers that response registers are cut from. */
const REGISTER_POOL_BYTES = 64 * 1024;
let registerPool = new ArrayBuffer(REGISTER_POOL_BYTES);
let registerPoolUsed = 0;

/**
 * A Uint16Array for `count` registers, cut from a shared pool (as Node pools small Buffers): one
 * ArrayBuffer per 64 KiB of responses instead of one per response. The view's `buffer` is
 * therefore shared with other responses; use the view, not its buffer.
 */
function registerArray(count: number): Uint16Array {
  const bytes = 2 * count;
  if (registerPoolUsed + bytes > REGISTER_POOL_BYTES) {
    registerPool = new ArrayBuffer(REGISTER_POOL_BYTES);
    registerPoolUsed = 0;
  }
  const view = new Uint16Array(registerPool, registerPoolUsed, count);
  registerPoolUsed += bytes;
  return view;
}

/**
 * Decodes a response PDU to the request described by `expected`. An exception response (AP 7) is
 * returned, not thrown: it is a valid answer. Anything else that does not fit throws
 * GW_ERR_DEVICE_PROTOCOL: another function code, a byte count that disagrees with the PDU length
 * or the quantity asked for (AP 6.3), an FC16 echo of another address or quantity (AP 6.12).
 */
export function decodeResponsePdu(pdu: Uint8Array, expected: ExpectedResponse): ModbusResponse {
  const functionCode = pdu[0] ?? -1;
  if (functionCode === (expected.functionCode | EXCEPTION_FLAG)) {
    if (pdu.length !== 2)
      throw protocolError(
        `exception response PDU of ${pdu.length} bytes, expected 2`,
        responseDetails(functionCode, expected),
      );
    return { kind: 'exception', functionCode: expected.functionCode, exception: pdu[1]! };
  }
  if (functionCode !== expected.functionCode) {
    throw protocolError(
      `response function code ${functionCode}, expected ${expected.functionCode}`,
      responseDetails(functionCode, expected),
    );
  }
  if (expected.functionCode === FC_READ_HOLDING_REGISTERS) {
    const byteCount = pdu[1] ?? -1;
    if (pdu.length < 2 || byteCount !== pdu.length - 2) {
      throw protocolError(
        `FC3 byte count ${byteCount} but ${Math.max(0, pdu.length - 2)} data bytes`,
        responseDetails(functionCode, expected),
      );
    }
    if (byteCount !== 2 * expected.count) {
      throw protocolError(
        `FC3 response holds ${byteCount / 2} registers, expected ${expected.count}`,
        responseDetails(functionCode, expected),
      );
    }
    const values = registerArray(expected.count);
    for (let i = 0; i < expected.count; i++) values[i] = (pdu[2 + 2 * i]! << 8) | pdu[3 + 2 * i]!;
    return { kind: 'registers', values };
  }
  if (pdu.length !== 5)
    throw protocolError(
      `FC16 response PDU of ${pdu.length} bytes, expected 5`,
      responseDetails(functionCode, expected),
    );
  const address = (pdu[1]! << 8) | pdu[2]!;
  const count = (pdu[3]! << 8) | pdu[4]!;
  if (address !== expected.address || count !== expected.count) {
    throw protocolError(
      `FC16 response echoes ${count} registers at ${address}, expected ${expected.count} at ${expected.address}`,
      responseDetails(functionCode, expected),
    );
  }
  return { kind: 'written', address, count };
}
