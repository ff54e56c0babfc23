/** Small I/O helpers shared by discovery, reading and control. */
import { GridseamError } from '@gridseam/model';
import type { ModbusTransport } from '../modbus/transport.ts';

/** A Modbus exception response, as the transport reports it (GW_ERR_DEVICE_REJECTED + modbusException). */
export function isExceptionResponse(error: unknown): error is GridseamError {
  return (
    GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_REJECTED' && error.details?.modbusException !== undefined
  );
}

/** FC3 read that insists on exactly `count` registers: a short answer is a protocol error, never a crash later. */
export async function readExact(
  transport: ModbusTransport,
  unit: number,
  address: number,
  count: number,
): Promise<Uint16Array> {
  return exactly(await transport.readHoldingRegisters(unit, address, count), unit, address, count);
}

/** The registers of an FC3 read if there are exactly `count` of them; else GW_ERR_DEVICE_PROTOCOL. */
export function exactly(registers: unknown, unit: number, address: number, count: number): Uint16Array {
  if (!(registers instanceof Uint16Array) || registers.length !== count) {
    const got = registers instanceof Uint16Array ? `${registers.length} registers` : typeof registers;
    throw new GridseamError(
      'GW_ERR_DEVICE_PROTOCOL',
      `unit ${unit}: read of ${count} registers at ${address} returned ${got}`,
      { details: { unit, address, count } },
    );
  }
  return registers;
}

/** The same error with the place it happened prepended, keeping its code and details. */
export function withContext(error: unknown, context: string): unknown {
  if (!GridseamError.is(error)) return error;
  return new GridseamError(error.code, `${context}: ${error.message}`, {
    cause: error,
    issues: error.issues,
    ...(error.details === undefined ? {} : { details: { ...error.details } }),
  });
}
