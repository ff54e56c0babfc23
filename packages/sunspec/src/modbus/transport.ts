/**
 * The Modbus transport contract the SunSpec edge uses: holding registers only (FC3 read, FC16
 * write), with the unit id per call so several devices behind one gateway share a connection.
 * Implementations own timeouts, retries with back-off and reconnects; errors are GridseamErrors:
 * GW_ERR_DEVICE_UNREACHABLE (connect refused, timeout, connection lost; retryable),
 * GW_ERR_DEVICE_PROTOCOL (malformed or mismatched frame; retryable),
 * GW_ERR_DEVICE_REJECTED (a Modbus exception response; `details.modbusException` holds its code).
 * Exception responses 10 and 11 (a gateway could not reach the unit) are GW_ERR_DEVICE_UNREACHABLE,
 * also with `details.modbusException`. Every error's `details` also holds `unit`, `address`, `count`.
 * Implementation: openModbusTcp in client.ts.
 */
export interface ModbusTransport {
  /** FC3; count 1..125 (Modbus application protocol v1.1b3, 6.3). Resolves with exactly count registers. */
  readHoldingRegisters(unit: number, address: number, count: number): Promise<Uint16Array>;
  /** FC16; 1..123 registers (6.12). */
  writeRegisters(unit: number, address: number, values: Uint16Array | readonly number[]): Promise<void>;
  close(): Promise<void>;
}

export const MAX_READ_REGISTERS = 125;
export const MAX_WRITE_REGISTERS = 123;
