/**
 * ModbusLink on our own MBAP codec (mbap.ts) over node:net: the default engine. It exists because
 * modbus-serial hides two faults the SunSpec edge must report (issue 3, "bad input"): a response
 * with a wrong transaction id is dropped and the request times out, and a truncated frame waits
 * for bytes that never come. Here both are GW_ERR_DEVICE_PROTOCOL as soon as they are seen.
 * It also checks the protocol id and the echoed unit id (TCP 3.1.3: both are recopied by the
 * server) and uses the full 16-bit transaction id space.
 */
import type net from 'node:net';
import { GridseamError } from '@gridseam/model';
import {
  connectSocket,
  exceptionError,
  type LinkTarget,
  type ModbusLink,
  protocolError,
  type RequestContext,
  unreachable,
} from './link.ts';
import {
  decodeResponsePdu,
  type ExpectedResponse,
  encodeReadHoldingRegistersRequest,
  encodeWriteRegistersRequest,
  FrameReader,
  type ModbusResponse,
} from './mbap.ts';

export async function connectMbapLink(target: LinkTarget, signal: AbortSignal): Promise<ModbusLink> {
  return new MbapLink(await connectSocket(target, signal));
}

interface InFlight {
  transactionId: number;
  unit: number;
  address: number;
  count: number;
  expected: ExpectedResponse;
  /** FC3: the registers read; FC16: undefined. */
  resolve(values: Uint16Array | undefined): void;
  reject(error: GridseamError): void;
}

/**
 * Hot path, per request: one promise, one ADU buffer, one in-flight record. The response timer is
 * one Timeout per link, re-armed with refresh() at each request instead of a setTimeout and
 * clearTimeout per request; it is left running after a response (firing with nothing in flight
 * does nothing) and is unref'd: the open socket is what keeps the process alive.
 */
class MbapLink implements ModbusLink {
  private readonly reader = new FrameReader();
  private transactionId = Math.floor(Math.random() * 0x10000);
  private inFlight: InFlight | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.once('close', () => this.onClose());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  readHoldingRegisters(unit: number, address: number, count: number, timeoutMs: number): Promise<Uint16Array> {
    const transactionId = this.nextTransactionId();
    let adu: Buffer;
    try {
      adu = encodeReadHoldingRegistersRequest(transactionId, unit, address, count);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Uint16Array>((resolve, reject) => {
      this.send(
        adu,
        {
          transactionId,
          unit,
          address,
          count,
          expected: { functionCode: 3, count },
          resolve: resolve as (values: Uint16Array | undefined) => void,
          reject,
        },
        timeoutMs,
      );
    });
  }

  writeRegisters(unit: number, address: number, values: Uint16Array, timeoutMs: number): Promise<void> {
    const transactionId = this.nextTransactionId();
    const count = values.length;
    let adu: Buffer;
    try {
      adu = encodeWriteRegistersRequest(transactionId, unit, address, values);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.send(
        adu,
        {
          transactionId,
          unit,
          address,
          count,
          expected: { functionCode: 16, address, count },
          resolve: () => resolve(),
          reject,
        },
        timeoutMs,
      );
    });
  }

  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  private nextTransactionId(): number {
    this.transactionId = (this.transactionId + 1) & 0xffff;
    return this.transactionId;
  }

  private send(adu: Buffer, request: InFlight, timeoutMs: number): void {
    if (this.closed) {
      request.reject(unreachable('connection closed', contextOf(request)));
      return;
    }
    if (this.inFlight) {
      request.reject(new GridseamError('GW_ERR_INTERNAL', 'MbapLink: one request at a time (client.ts serialises)'));
      return;
    }
    this.inFlight = request;
    this.armTimer(timeoutMs);
    this.socket.write(adu);
  }

  private armTimer(timeoutMs: number): void {
    if (this.timer !== undefined && this.timerMs === timeoutMs) {
      this.timer.refresh();
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerMs = timeoutMs;
    this.timer = setTimeout(() => this.onTimeout(), timeoutMs);
    this.timer.unref();
  }

  /** The timer was last re-armed when the request in flight (if any) was sent: it had timerMs to answer. */
  private onTimeout(): void {
    const current = this.inFlight;
    if (!current) return;
    const partial = this.reader.pending;
    if (partial > 0) {
      this.failAndClose(`truncated frame: ${partial} bytes of a frame, then nothing for ${this.timerMs} ms`);
    } else {
      this.fail(unreachable(`no response from unit ${current.unit} within ${this.timerMs} ms`, contextOf(current)));
    }
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    for (let result = this.reader.read(); result !== undefined; result = this.reader.read()) {
      const current = this.inFlight;
      if (result.error) {
        // Either fault means we no longer trust this stream: fail the request and hang up.
        this.failAndClose(`malformed MBAP header: ${result.error.message}`);
        return;
      }
      const { frame } = result;
      if (!current) {
        this.failAndClose(`unsolicited frame with transaction id ${frame.transactionId}`);
        return;
      }
      if (frame.transactionId !== current.transactionId) {
        this.failAndClose(`response transaction id ${frame.transactionId}, expected ${current.transactionId}`);
        return;
      }
      if (frame.unitId !== current.unit) {
        this.failAndClose(`response unit id ${frame.unitId}, expected ${current.unit}`);
        return;
      }
      let response: ModbusResponse;
      try {
        response = decodeResponsePdu(frame.pdu, current.expected);
      } catch (error) {
        this.failAndClose(`malformed response: ${(error as Error).message}`, error);
        return;
      }
      this.inFlight = undefined;
      if (response.kind === 'exception') {
        current.reject(exceptionError(response.exception, contextOf(current), response.functionCode));
      } else {
        current.resolve(response.kind === 'registers' ? response.values : undefined);
      }
    }
  }

  private failAndClose(message: string, cause?: unknown): void {
    const current = this.inFlight;
    if (current) this.fail(protocolError(message, contextOf(current), cause));
    this.destroy();
  }

  private fail(error: GridseamError): void {
    const current = this.inFlight;
    if (!current) return;
    this.inFlight = undefined;
    current.reject(error);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const current = this.inFlight;
    if (!current) return;
    const partial = this.reader.pending;
    this.fail(
      partial > 0
        ? protocolError(`truncated frame: connection closed after ${partial} bytes of a frame`, contextOf(current))
        : unreachable(`connection closed while waiting for unit ${current.unit}`, contextOf(current)),
    );
  }
}

/** The `details` of every error a request raises (built only when one is raised). */
function contextOf(request: InFlight): RequestContext {
  return { unit: request.unit, address: request.address, count: request.count };
}
