/**
 * One Modbus TCP connection, below the retrying transport in client.ts. A link makes one request
 * at a time (client.ts serialises), applies the per-request timeout and reports every failure as
 * a GridseamError with `details: { unit, address, count, modbusException? }`. Two engines
 * implement it: modbus-serial (modbus-serial-link.ts) and our own MBAP codec (mbap-link.ts).
 */
import net from 'node:net';
import { GridseamError } from '@gridseam/model';
import { ModbusExceptionCode } from './mbap.ts';

export interface ModbusLink {
  /** False once the connection closed or was destroyed; the transport then reconnects. */
  readonly isOpen: boolean;
  readHoldingRegisters(unit: number, address: number, count: number, timeoutMs: number): Promise<Uint16Array>;
  writeRegisters(unit: number, address: number, values: Uint16Array, timeoutMs: number): Promise<void>;
  /** Drops the connection now; a request in flight rejects with GW_ERR_DEVICE_UNREACHABLE. */
  destroy(): void;
}

export interface LinkTarget {
  host: string;
  port: number;
  connectTimeoutMs: number;
}

export type ModbusLinkFactory = (target: LinkTarget, signal: AbortSignal) => Promise<ModbusLink>;

/** What a request asked for; the `details` of every error it raises. */
export interface RequestContext {
  unit: number;
  address: number;
  count: number;
}

export function unreachable(message: string, context: RequestContext | undefined, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', message, {
    cause,
    ...(context ? { details: { ...context } } : {}),
  });
}

export function protocolError(message: string, context: RequestContext, cause?: unknown): GridseamError {
  const extra = GridseamError.is(cause) ? cause.details : undefined;
  return new GridseamError('GW_ERR_DEVICE_PROTOCOL', message, { cause, details: { ...extra, ...context } });
}

/**
 * A Modbus exception response (AP 7). Codes 10 and 11 come from a gateway that could not reach
 * the addressed unit ("gateway path unavailable", "gateway target device failed to respond"), so
 * they are GW_ERR_DEVICE_UNREACHABLE; every other code is the device refusing the request:
 * GW_ERR_DEVICE_REJECTED. Neither is retried by the transport.
 */
export function exceptionError(exception: number, context: RequestContext, functionCode: number): GridseamError {
  const gateway =
    exception === ModbusExceptionCode.GATEWAY_PATH_UNAVAILABLE ||
    exception === ModbusExceptionCode.GATEWAY_TARGET_FAILED_TO_RESPOND;
  return new GridseamError(
    gateway ? 'GW_ERR_DEVICE_UNREACHABLE' : 'GW_ERR_DEVICE_REJECTED',
    `Modbus exception ${exception} (${EXCEPTION_NAMES[exception] ?? 'unknown'}) for FC${functionCode} ` +
      `of ${context.count} registers at ${context.address}, unit ${context.unit}`,
    { details: { modbusException: exception, ...context } },
  );
}

const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** Opens a TCP connection with a connect timeout and abort; errors are GW_ERR_DEVICE_UNREACHABLE. */
export function connectSocket(target: LinkTarget, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const where = `${target.host}:${target.port}`;
    if (signal.aborted) {
      reject(unreachable(`connect to ${where} aborted: the transport is closed`, undefined));
      return;
    }
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const finish = (error: GridseamError | undefined): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onConnect);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => finish(undefined);
    const onError = (error: Error): void =>
      finish(unreachable(`connect to ${where} failed: ${error.message}`, undefined, error));
    const onAbort = (): void => finish(unreachable(`connect to ${where} aborted: the transport is closed`, undefined));
    const timer = setTimeout(
      () => finish(unreachable(`connect to ${where} timed out after ${target.connectTimeoutMs} ms`, undefined)),
      target.connectTimeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
