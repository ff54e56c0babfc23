/**
 * ModbusLink over modbus-serial's ModbusRTU client (TCP port), the library the architecture guide
 * prefers. We open the socket ourselves (connect timeout, abort) and hand it over with linkTCP.
 *
 * What modbus-serial 8.0.25 does with bad input (ports/tcpport.js, index.js `_onReceive`), and how
 * it surfaces here:
 * - a response with a transaction id it has no transaction for is dropped silently: the request
 *   times out -> GW_ERR_DEVICE_UNREACHABLE (the transport then reconnects, which also discards
 *   a late answer). Transaction ids wrap at 256, not 65536.
 * - an MBAP length longer than the bytes sent (a truncated frame) waits for more bytes: timeout
 *   -> GW_ERR_DEVICE_UNREACHABLE, or "connection closed" if the peer hangs up.
 * - a PDU whose length, unit id or function code do not match ("Data length error", "Unexpected
 *   data error") -> GW_ERR_DEVICE_PROTOCOL.
 * - protocol id is not checked; a closed socket does not fail the request in flight (it would
 *   wait for its timeout), so we fail it on the 'close' event.
 * The engine in mbap-link.ts reports the first two as GW_ERR_DEVICE_PROTOCOL at once.
 */
import type net from 'node:net';
import modbusSerial from 'modbus-serial';
import {
  connectSocket,
  exceptionError,
  type LinkTarget,
  type ModbusLink,
  protocolError,
  type RequestContext,
  unreachable,
} from './link.ts';
import { FC_READ_HOLDING_REGISTERS, FC_WRITE_MULTIPLE_REGISTERS } from './mbap.ts';

// modbus-serial is CommonJS with `module.exports.default = module.exports`; under NodeNext typing
// the class is reached through `.default`, which also holds at run time.
const ModbusRTU = modbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;

export async function connectModbusSerialLink(target: LinkTarget, signal: AbortSignal): Promise<ModbusLink> {
  const socket = await connectSocket(target, signal);
  const client = new ModbusRTU();
  // ModbusRTU re-emits socket errors as 'error'; unhandled, that would crash the process.
  client.on('error', () => {});
  try {
    await client.linkTCP(socket, { port: target.port });
  } catch (error) {
    socket.destroy();
    throw unreachable(`modbus-serial could not take over the connection: ${String(error)}`, undefined, error);
  }
  return new ModbusSerialLink(client, socket);
}

class ModbusSerialLink implements ModbusLink {
  private closed = false;
  private failInFlight: ((error: Error) => void) | undefined;

  constructor(
    private readonly client: ModbusRTU,
    private readonly socket: net.Socket,
  ) {
    socket.once('close', () => this.onClose());
  }

  get isOpen(): boolean {
    return !this.closed && this.client.isOpen;
  }

  async readHoldingRegisters(unit: number, address: number, count: number, timeoutMs: number): Promise<Uint16Array> {
    const context = { unit, address, count };
    const result = await this.run(context, FC_READ_HOLDING_REGISTERS, timeoutMs, () =>
      this.client.readHoldingRegisters(address, count),
    );
    if (result.data.length !== count) {
      throw protocolError(`FC3 response holds ${result.data.length} registers, expected ${count}`, context);
    }
    return Uint16Array.from(result.data);
  }

  async writeRegisters(unit: number, address: number, values: Uint16Array, timeoutMs: number): Promise<void> {
    const context = { unit, address, count: values.length };
    const result = await this.run(context, FC_WRITE_MULTIPLE_REGISTERS, timeoutMs, () =>
      this.client.writeRegisters(address, Array.from(values)),
    );
    // AP 6.12: the response echoes the starting address and quantity.
    if (result.address !== address || result.length !== values.length) {
      throw protocolError(
        `FC16 response echoes ${result.length} registers at ${result.address}, expected ${values.length} at ${address}`,
        context,
      );
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    // destroy() also clears modbus-serial's pending transaction timers.
    this.client.destroy(() => {});
    this.socket.destroy();
    this.failInFlight?.(unreachable('connection closed', undefined));
  }

  private run<T>(context: RequestContext, functionCode: number, timeoutMs: number, call: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(unreachable('connection closed', context));
    this.client.setID(context.unit);
    this.client.setTimeout(timeoutMs);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, value?: T): void => {
        if (settled) return;
        settled = true;
        this.failInFlight = undefined;
        if (error) reject(error);
        else resolve(value as T);
      };
      this.failInFlight = () =>
        settle(unreachable(`connection closed while waiting for unit ${context.unit}`, context));
      call().then(
        (value) => settle(undefined, value),
        (error: unknown) => settle(mapModbusSerialError(error, context, functionCode, timeoutMs)),
      );
    });
  }
}

/** modbus-serial reports failures as plain Errors told apart by name, errno, modbusCode or message. */
function mapModbusSerialError(error: unknown, context: RequestContext, functionCode: number, timeoutMs: number) {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    errno?: unknown;
    code?: unknown;
    modbusCode?: unknown;
  };
  if (typeof e.modbusCode === 'number') return exceptionError(e.modbusCode, context, functionCode);
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT') {
    return unreachable(`no response from unit ${context.unit} within ${timeoutMs} ms`, context, error);
  }
  if (e.name === 'PortNotOpenError') return unreachable('connection closed', context, error);
  if (typeof e.code === 'string') return unreachable(`connection failed: ${message}`, context, error);
  // "Data length error", "Unexpected data error", "CRC error", or a parse failure.
  return protocolError(`malformed response: ${message}`, context, error);
}
