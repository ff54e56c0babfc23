/**
 * SunSpec discovery: find the 'SunS' marker, then walk the chain of models (ID, L) up to the end
 * marker. Follows pysunspec2's scan (device_edge.md 1.2): bases 40000, 0, 50000 in that order; ID
 * and L read separately when the pair cannot be read, because some devices do not supply L for the
 * end model; and it tolerates the field quirks seen there: no end marker at all (SMA answers
 * exception 2 past the last model), garbage past the last model, a chain that runs off the 16-bit
 * address space.
 */
import { GridseamError } from '@gridseam/model';
import type { ModbusTransport } from '../modbus/transport.ts';
import { isExceptionResponse, readExact, withContext } from './io.ts';

/** 'SunS' as two big-endian registers (SunSpec Information Model Specification, 4.1). */
export const SUNS_MARKER: readonly [number, number] = [0x5375, 0x6e53];
export const DEFAULT_BASES: readonly number[] = [40000, 0, 50000];
/** SUNS_END_MODEL_ID (pysunspec2 sunspec2/mb.py). */
export const END_MODEL_ID = 0xffff;
/** Highest Modbus register address (PDU addresses are 16-bit). */
export const MAX_ADDRESS = 0xffff;
/** No real device has this many models; a longer chain is garbage. */
const MAX_MODELS = 512;
/** Modbus exception 2 (Modbus AP 7). */
const ILLEGAL_DATA_ADDRESS = 2;

export interface ScannedModel {
  id: number;
  /** Register address of the model's ID point. */
  start: number;
  /** L: registers after ID and L. */
  length: number;
}

export interface ScanResult {
  base: number;
  models: ScannedModel[];
  /** Whether the chain ended with the 0xFFFF end model (false: ended by an exception, garbage or overrun). */
  endMarker: boolean;
  /** Quirks met during the walk, for the log. */
  warnings: string[];
}

export interface ScanOptions {
  /** Candidate base addresses, tried in order; default [40000, 0, 50000]. */
  bases?: readonly number[];
}

export async function scanSunSpec(
  transport: ModbusTransport,
  unit: number,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const bases = options.bases ?? DEFAULT_BASES;
  const base = await findBase(transport, unit, bases);
  const models: ScannedModel[] = [];
  const warnings: string[] = [];
  let endMarker = false;
  let address = base + 2;

  while (true) {
    if (models.length >= MAX_MODELS) {
      warnings.push(`stopped after ${MAX_MODELS} models at ${address}: chain too long`);
      break;
    }
    if (address > MAX_ADDRESS) {
      warnings.push(`no end marker: the chain runs past address ${MAX_ADDRESS}`);
      break;
    }
    const header = await readHeader(transport, unit, address);
    if (header.kind === 'exception') {
      warnings.push(`no end marker: exception ${header.code} at ${address}, taken as the end of the map`);
      break;
    }
    if (header.id === END_MODEL_ID) {
      endMarker = true;
      break;
    }
    if (header.id === 0 || header.length === undefined) {
      warnings.push(`no end marker: unexpected register values at ${address} (id ${header.id}), taken as the end`);
      break;
    }
    const end = address + 1 + header.length; // last register of the model
    if (end > MAX_ADDRESS) {
      warnings.push(
        `model ${header.id} at ${address} declares length ${header.length}, which overruns the address space; walk stopped`,
      );
      break;
    }
    models.push({ id: header.id, start: address, length: header.length });
    address = end + 1;
  }
  return { base, models, endMarker, warnings };
}

async function findBase(transport: ModbusTransport, unit: number, bases: readonly number[]): Promise<number> {
  for (const base of bases) {
    if (!Number.isInteger(base) || base < 0 || base + 1 > MAX_ADDRESS) continue;
    let marker: Uint16Array;
    try {
      marker = await readExact(transport, unit, base, 2);
    } catch (error) {
      // An exception answer (typically 2, illegal data address) means "not here": try the next base.
      if (isExceptionResponse(error)) continue;
      throw error;
    }
    if (marker[0] === SUNS_MARKER[0] && marker[1] === SUNS_MARKER[1]) return base;
  }
  throw new GridseamError(
    'GW_ERR_NOT_SUPPORTED',
    `unit ${unit} is not a SunSpec device (no 'SunS' at ${bases.join(', ')})`,
    {
      details: { unit, bases: [...bases] },
    },
  );
}

type Header = { kind: 'model'; id: number; length: number | undefined } | { kind: 'exception'; code: number };

/** Reads ID and L together; on an exception reads ID alone (the end model may have no L). */
async function readHeader(transport: ModbusTransport, unit: number, address: number): Promise<Header> {
  if (address + 1 <= MAX_ADDRESS) {
    try {
      const pair = await readExact(transport, unit, address, 2);
      return { kind: 'model', id: pair[0]!, length: pair[1]! };
    } catch (error) {
      if (!isExceptionResponse(error)) throw error;
    }
  }
  try {
    const id = await readExact(transport, unit, address, 1);
    return { kind: 'model', id: id[0]!, length: undefined };
  } catch (error) {
    // Only "illegal data address" means the map ends here; a busy or failing device (exceptions
    // 4, 6, ...) must not cut the model list short, so those fail the scan.
    if (isExceptionResponse(error) && error.details?.modbusException === ILLEGAL_DATA_ADDRESS)
      return { kind: 'exception', code: ILLEGAL_DATA_ADDRESS };
    throw withContext(error, `unit ${unit}: reading the model header at ${address}`);
  }
}
