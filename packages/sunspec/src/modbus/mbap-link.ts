/**
 * ModbusLink on our own MBAP codec (mbap.ts) over node:net: the default engine. It exists because
 * modbus-serial hides two faults the SunSpec edge must report (issue 3, "bad input"): a response
 * with a wrong transaction id is dropped and the request times out, and a truncated frame waits
 * for bytes that never come. Here both are GW_ERR_DEVICE_PROTOCOL as soon as they are seen.
 * It also checks the protocol id and the echoed unit id (TCP 3.1.3: both are recopied by the
 * server) and uses the full 16-bit transaction id space.
 */
import type net from 'node:net';
import type { GridseamError } from '@gridseam/model';
import { connectSocket, exceptionError, type LinkTarget, type ModbusLink, protocolError, unreachable } from './link.ts';
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
  timer: NodeJS.Timeout;
  resolve(response: ModbusResponse): void;
  reject(error: GridseamError): void;
}

class MbapLink implements ModbusLink {
  private readonly reader = new FrameReader();
  private transactionId = Math.floor(Math.random() * 0x10000);
  private inFlight: InFlight | undefined;
  private closed = false;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.once('close', () => this.onClose());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async readHoldingRegisters(unit: number, address: number, count: number, timeoutMs: number): Promise<Uint16Array> {
    const transactionId = this.nextTransactionId();
    const response = await this.request(
      encodeReadHoldingRegistersRequest(transactionId, unit, address, count),
      { transactionId, unit, address, count, expected: { functionCode: 3, count } },
      timeoutMs,
    );
    if (response.kind !== 'registers') throw new Error('unreachable: FC3 answered by a non-register response');
    return response.values;
  }

  async writeRegisters(unit: number, address: number, values: Uint16Array, timeoutMs: number): Promise<void> {
    const transactionId = this.nextTransactionId();
    const count = values.length;
    await this.request(
      encodeWriteRegistersRequest(transactionId, unit, address, values),
      { transactionId, unit, address, count, expected: { functionCode: 16, address, count } },
      timeoutMs,
    );
  }

  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  private nextTransactionId(): number {
    this.transactionId = (this.transactionId + 1) & 0xffff;
    return this.transactionId;
  }

  private request(
    adu: Buffer,
    request: Omit<InFlight, 'timer' | 'resolve' | 'reject'>,
    timeoutMs: number,
  ): Promise<ModbusResponse> {
    const context = { unit: request.unit, address: request.address, count: request.count };
    if (this.closed) return Promise.reject(unreachable('connection closed', context));
    if (this.inFlight) return Promise.reject(new Error('MbapLink: one request at a time (client.ts serialises)'));
    return new Promise<ModbusResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        const partial = this.reader.pending;
        if (partial > 0) {
          this.failAndClose(`truncated frame: ${partial} bytes of a frame, then nothing for ${timeoutMs} ms`);
        } else {
          this.fail(unreachable(`no response from unit ${request.unit} within ${timeoutMs} ms`, context));
        }
      }, timeoutMs);
      this.inFlight = { ...request, timer, resolve, reject };
      this.socket.write(adu);
    }).then((response) => {
      if (response.kind === 'exception') throw exceptionError(response.exception, context, response.functionCode);
      return response;
    });
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
      clearTimeout(current.timer);
      current.resolve(response);
    }
  }

  private failAndClose(message: string, cause?: unknown): void {
    const current = this.inFlight;
    if (current) {
      const { unit, address, count } = current;
      this.fail(protocolError(message, { unit, address, count }, cause));
    }
    this.destroy();
  }

  private fail(error: GridseamError): void {
    const current = this.inFlight;
    if (!current) return;
    this.inFlight = undefined;
    clearTimeout(current.timer);
    current.reject(error);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const current = this.inFlight;
    if (!current) return;
    const { unit, address, count } = current;
    const partial = this.reader.pending;
    this.fail(
      partial > 0
        ? protocolError(`truncated frame: connection closed after ${partial} bytes of a frame`, {
            unit,
            address,
            count,
          })
        : unreachable(`connection closed while waiting for unit ${unit}`, { unit, address, count }),
    );
  }
}
