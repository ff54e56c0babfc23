/**
 * A lean Modbus TCP server (FC3 and FC16) over node:net, for simulators and tests. The handler is
 * synchronous so a request is answered in the same tick it arrives: no per-request timers or
 * promises (modbus-serial's ServerTCP defers every request with setTimeout and serves about 780
 * req/s; see bench/modbus-server.bench.ts for the figures of this one).
 *
 * Per socket, requests are answered in arrival order, so pipelined requests work; the responses
 * for all frames of one TCP chunk go out in one write. Malformed input never throws out of the
 * server: a bad request gets an exception response, a broken stream closes only that socket.
 */
import net from 'node:net';
import { GridseamError } from '@gridseam/model';
import {
  decodeRequestPdu,
  encodeExceptionResponse,
  encodeReadHoldingRegistersResponse,
  encodeWriteRegistersResponse,
  FC_READ_HOLDING_REGISTERS,
  FrameReader,
  isModbusException,
  type ModbusException,
  ModbusExceptionCode,
} from './mbap.ts';

/** The register image behind the server. Return `{ exception }` to answer an exception response. */
export interface ModbusRegisterHandler {
  /** Must return exactly `count` registers (else the server answers exception 4). */
  readHoldingRegisters(unit: number, address: number, count: number): Uint16Array | ModbusException;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing must conform.
  writeRegisters(unit: number, address: number, values: Uint16Array): void | ModbusException;
  /**
   * Optional: whether a unit id is served. When it returns false the server answers exception 11
   * (0x0B, gateway target device failed to respond) without calling the handler. AP 7 describes
   * 0x0B as "no response was obtained from the target device ... usually means that the device is
   * not present on the network". A server that hosts several unit ids on one port acts as a
   * gateway (the TCP guide's unit identifier addresses a device behind a gateway), and exception 2
   * would wrongly say that the device exists but lacks the register.
   */
  hasUnit?(unit: number): boolean;
}

export interface ModbusTcpServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port; `listen()` resolves with it. */
  port: number;
  handler: ModbusRegisterHandler;
}

export interface ModbusTcpServerStats {
  connections: number;
  /** Frames answered, exception responses included. */
  requests: number;
  exceptions: number;
  /** Frames or streams that were not valid Modbus TCP (discarded frames, closed sockets). */
  malformed: number;
}

export class ModbusTcpServer {
  readonly stats: ModbusTcpServerStats = { connections: 0, requests: 0, exceptions: 0, malformed: 0 };
  private readonly host: string;
  private readonly port: number;
  private readonly handler: ModbusRegisterHandler;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  constructor(options: ModbusTcpServerOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port;
    this.handler = options.handler;
  }

  /** Where the server listens, once listening. */
  get address(): net.AddressInfo | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address : undefined;
  }

  /** The number of open client connections. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  listen(): Promise<{ port: number }> {
    if (this.server) throw new GridseamError('GW_ERR_CONFLICT', 'the Modbus TCP server is already listening');
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server = undefined;
        reject(error);
      };
      server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.off('error', onError);
        // A later server error (rare: e.g. EMFILE on accept) must not crash the process.
        server.on('error', () => {});
        resolve({ port: (server.address() as net.AddressInfo).port });
      });
    });
  }

  /** Destroys every open connection but keeps listening (a device reboot, a flaky gateway). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Stops listening and destroys every open connection. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    this.stats.connections++;
    const reader = new FrameReader();
    // ECONNRESET and friends: the client is gone; 'close' follows.
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('drain', () => socket.resume());
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      let single: Buffer | undefined;
      let several: Buffer[] | undefined;
      for (let result = reader.read(); result !== undefined; result = reader.read()) {
        if (result.error) {
          this.stats.malformed++;
          // TCP 3.1.3: only protocol id 0 is MODBUS; such a frame is dropped unanswered. A bad
          // length leaves no way to find the next frame, so the connection is closed.
          if (result.error.kind === 'length') break;
          continue;
        }
        const { transactionId, unitId, pdu } = result.frame;
        const response = this.answer(transactionId, unitId, pdu);
        if (single === undefined) single = response;
        else if (several === undefined) several = [single, response];
        else several.push(response);
      }
      if (single !== undefined && !socket.destroyed) {
        const flushed = socket.write(several === undefined ? single : Buffer.concat(several));
        // Back-pressure: a client that pipelines without reading must not grow our buffers.
        if (!flushed) socket.pause();
      }
      if (reader.broken) socket.destroy();
    });
  }

  private answer(transactionId: number, unitId: number, pdu: Uint8Array): Buffer {
    this.stats.requests++;
    const decoded = decodeRequestPdu(pdu);
    if (decoded.request === undefined) {
      return this.exception(transactionId, unitId, decoded.functionCode, decoded.exception);
    }
    const request = decoded.request;
    const handler = this.handler;
    if (handler.hasUnit !== undefined && !handler.hasUnit(unitId)) {
      return this.exception(
        transactionId,
        unitId,
        request.functionCode,
        ModbusExceptionCode.GATEWAY_TARGET_FAILED_TO_RESPOND,
      );
    }
    try {
      if (request.functionCode === FC_READ_HOLDING_REGISTERS) {
        const result = handler.readHoldingRegisters(unitId, request.address, request.count);
        if (isModbusException(result)) {
          return this.exception(transactionId, unitId, request.functionCode, result.exception);
        }
        if (!(result instanceof Uint16Array) || result.length !== request.count) {
          return this.exception(transactionId, unitId, request.functionCode, ModbusExceptionCode.SERVER_DEVICE_FAILURE);
        }
        return encodeReadHoldingRegistersResponse(transactionId, unitId, result);
      }
      const result = handler.writeRegisters(unitId, request.address, request.values);
      if (isModbusException(result)) {
        return this.exception(transactionId, unitId, request.functionCode, result.exception);
      }
      return encodeWriteRegistersResponse(transactionId, unitId, request.address, request.values.length);
    } catch {
      // AP 7, code 4: "an unrecoverable error occurred while the server was attempting to perform
      // the requested action". A handler bug must not take the server down.
      return this.exception(transactionId, unitId, request.functionCode, ModbusExceptionCode.SERVER_DEVICE_FAILURE);
    }
  }

  private exception(transactionId: number, unitId: number, functionCode: number, code: number): Buffer {
    this.stats.exceptions++;
    return encodeExceptionResponse(transactionId, unitId, functionCode, code);
  }
}
