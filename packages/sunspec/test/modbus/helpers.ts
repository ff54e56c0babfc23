/** Shared helpers for the Modbus TCP tests: a register image handler, a raw socket client, fake peers. */
import net from 'node:net';
import { FrameReader, type MbapFrame, ModbusExceptionCode } from '../../src/modbus/mbap.ts';
import type { ModbusRegisterHandler } from '../../src/modbus/server.ts';

/** Per-unit register images; addresses outside [base, base + length) answer exception 2. */
export class RegisterImages implements ModbusRegisterHandler {
  readonly units = new Map<number, { base: number; registers: Uint16Array }>();
  reads = 0;
  writes = 0;

  add(unit: number, base: number, registers: Uint16Array | readonly number[]): this {
    this.units.set(unit, { base, registers: Uint16Array.from(registers) });
    return this;
  }

  hasUnit(unit: number): boolean {
    return this.units.has(unit);
  }

  readHoldingRegisters(unit: number, address: number, count: number): Uint16Array | { exception: number } {
    this.reads++;
    const image = this.units.get(unit);
    if (!image || address < image.base || address + count > image.base + image.registers.length) {
      return { exception: ModbusExceptionCode.ILLEGAL_DATA_ADDRESS };
    }
    return image.registers.slice(address - image.base, address - image.base + count);
  }

  writeRegisters(unit: number, address: number, values: Uint16Array): undefined | { exception: number } {
    this.writes++;
    const image = this.units.get(unit);
    if (!image || address < image.base || address + values.length > image.base + image.registers.length) {
      return { exception: ModbusExceptionCode.ILLEGAL_DATA_ADDRESS };
    }
    image.registers.set(values, address - image.base);
    return undefined;
  }
}

/** A plain TCP client that sends raw bytes and collects complete Modbus TCP frames. */
export class RawClient {
  readonly reader = new FrameReader();
  readonly frames: MbapFrame[] = [];
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let r = this.reader.read(); r !== undefined; r = this.reader.read()) {
        if (r.frame) this.frames.push({ ...r.frame, pdu: Uint8Array.from(r.frame.pdu) });
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(bytes: Uint8Array | readonly number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Resolves once `count` frames arrived in total (or rejects if the socket closes first). */
  async waitFrames(count: number): Promise<MbapFrame[]> {
    while (this.frames.length < count) {
      if (this.closed) throw new Error(`socket closed after ${this.frames.length} of ${count} frames`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.frames.slice(0, count);
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * A raw TCP peer for client tests: hands every complete request frame to `reply`, which returns
 * the bytes to send back (or undefined to stay silent). Counts connections and requests.
 */
export class FakePeer {
  connections = 0;
  requests = 0;
  outstanding = 0;
  maxOutstanding = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(public reply: (frame: MbapFrame, socket: net.Socket) => Uint8Array | undefined) {
    this.server = net.createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
      const reader = new FrameReader();
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        for (let r = reader.read(); r !== undefined; r = reader.read()) {
          if (!r.frame) continue;
          const frame = { ...r.frame, pdu: Uint8Array.from(r.frame.pdu) };
          this.requests++;
          this.outstanding++;
          this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
          // Answer on a later turn, so a client that pipelined would show outstanding > 1.
          setImmediate(() => {
            this.outstanding--;
            const bytes = this.reply(frame, socket);
            if (bytes && !socket.destroyed) socket.write(bytes);
          });
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Deterministic pseudo-random bytes (xorshift32), so a failing fuzz case can be replayed. */
export function randomBytes(seed: number, length: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
