/**
 * An in-memory ModbusTransport over a sparse register image, recording every request. Unmapped
 * addresses answer Modbus exception 2 (illegal data address), as SMA devices do past the last
 * model; switches make it drop writes, refuse them, or truncate responses.
 */
import { GridseamError } from '@gridseam/model';
import { MAX_READ_REGISTERS, MAX_WRITE_REGISTERS, type ModbusTransport } from '../../src/modbus/transport.ts';

export interface Request {
  fc: 3 | 16;
  unit: number;
  address: number;
  count: number;
}

function exception(code: number, unit: number, address: number, count: number): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_REJECTED', `Modbus exception ${code}`, {
    details: { unit, address, count, modbusException: code },
  });
}

export class FakeTransport implements ModbusTransport {
  readonly requests: Request[] = [];
  private readonly registers = new Map<number, number>();
  /** Writes are acknowledged but change nothing (a device that ignores them). */
  dropWrites = false;
  /** A device that alters what it stores (e.g. clamps a setpoint); returns the registers kept. */
  transformWrite: ((address: number, values: number[]) => number[]) | undefined;
  /** Writes answer this Modbus exception code. */
  writeException: number | undefined;
  /** Reads return this many registers fewer than asked (a transport surfacing a truncated frame). */
  truncateBy = 0;
  /** Reads at these addresses answer exception 4 (server device failure) once set. */
  readonly failingReads = new Set<number>();
  closed = false;

  constructor(readonly unit = 1) {}

  /** Puts registers at an address (numbers are masked to 16 bits). */
  put(address: number, values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.registers.set(address + i, values[i]! & 0xffff);
    return this;
  }

  get(address: number, count = 1): number[] {
    return Array.from({ length: count }, (_, i) => this.registers.get(address + i) ?? -1);
  }

  get reads(): Request[] {
    return this.requests.filter((r) => r.fc === 3);
  }

  get writes(): Request[] {
    return this.requests.filter((r) => r.fc === 16);
  }

  async readHoldingRegisters(unit: number, address: number, count: number): Promise<Uint16Array> {
    this.requests.push({ fc: 3, unit, address, count });
    if (count < 1 || count > MAX_READ_REGISTERS)
      throw new GridseamError('GW_ERR_VALIDATION', `read of ${count} registers`);
    if (unit !== this.unit)
      throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `unit ${unit} does not answer`, { details: { unit } });
    if (this.failingReads.has(address)) throw exception(4, unit, address, count);
    const out = new Uint16Array(Math.max(0, count - this.truncateBy));
    for (let i = 0; i < count; i++) {
      const value = this.registers.get(address + i);
      if (value === undefined) throw exception(2, unit, address, count);
      if (i < out.length) out[i] = value;
    }
    return out;
  }

  async writeRegisters(unit: number, address: number, values: Uint16Array | readonly number[]): Promise<void> {
    this.requests.push({ fc: 16, unit, address, count: values.length });
    if (values.length < 1 || values.length > MAX_WRITE_REGISTERS)
      throw new GridseamError('GW_ERR_VALIDATION', `write of ${values.length} registers`);
    if (this.writeException !== undefined) throw exception(this.writeException, unit, address, values.length);
    for (let i = 0; i < values.length; i++) {
      if (!this.registers.has(address + i)) throw exception(2, unit, address, values.length);
    }
    if (this.dropWrites) return;
    const stored = Array.from(values);
    this.put(address, this.transformWrite ? this.transformWrite(address, stored) : stored);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
