/**
 * Delivering a setpoint: read the control models (for their scale factors and current state),
 * plan, encode every write before sending any, write, read back and compare. A write the device
 * refuses (Modbus exception) or ignores (the read-back differs by more than the point's scaling
 * resolution) is a GW_ERR_DEVICE_REJECTED carrying the read-back, never a log line: the gateway
 * turns it into a failed Command.
 */
import { GridseamError, type Setpoint } from '@gridseam/model';
import { encodePointWrite, pointAt } from '../codec/index.ts';
import type { DecodedModel, PointLocation } from '../codec/types.ts';
import { MAX_WRITE_REGISTERS, type ModbusTransport } from '../modbus/transport.ts';
import { type PlannedWrite, type PlanOptions, planSetpoint, type WritePlan } from './controls.ts';
import { isExceptionResponse, withContext } from './io.ts';
import { modelOf, numberAt } from './points.ts';
import { definitionOf, readModels } from './read.ts';
import type { ScanResult } from './scan.ts';

/** Models a plan may consult: ratings (120, 121, 702), controls (123, 124, 703, 704), storage (713, 802). */
export const CONTROL_CONTEXT_MODELS: readonly number[] = [120, 121, 123, 124, 702, 703, 704, 713, 802];

export interface ReadBackEntry {
  modelId: number;
  path: string;
  written: number;
  /** The value read after the write; null when the device reports the point unimplemented. */
  read: number | null;
  matched: boolean;
}

export interface ApplyResult {
  confirmed: boolean;
  readBack: ReadBackEntry[];
  plan: WritePlan;
  /** The primary point as read back, in setpoint units (e.g. WMaxLimPct x WMax / 100 -> W). */
  value: number | null;
}

/** One FC16 request: consecutive planned writes of one model whose registers are contiguous. */
export interface WriteFrame {
  address: number;
  registers: number[];
  writes: PlannedWrite[];
}

/** Encodes a plan into FC16 frames (in plan order; adjacent writes of one model share a frame). */
export function encodePlan(models: readonly DecodedModel[], plan: WritePlan): WriteFrame[] {
  const frames: WriteFrame[] = [];
  let last: WriteFrame | undefined;
  let lastModel = -1;
  for (const write of plan.writes) {
    const model = modelOf(models, write.modelId);
    const def = definitionOf(write.modelId);
    if (!model || !def) throw new GridseamError('GW_ERR_NOT_SUPPORTED', `model ${write.modelId} is not available`);
    let encoded: { offset: number; registers: ArrayLike<number> };
    try {
      encoded = encodePointWrite(def, model, write.path, write.value);
    } catch (error) {
      throw withContext(error, `encoding ${write.modelId}.${write.path} = ${write.value}`);
    }
    const address = model.start + encoded.offset;
    const registers = Array.from(encoded.registers);
    if (
      last &&
      lastModel === write.modelId &&
      last.address + last.registers.length === address &&
      last.registers.length + registers.length <= MAX_WRITE_REGISTERS
    ) {
      last.registers.push(...registers);
      last.writes.push(write);
    } else {
      last = { address, registers, writes: [write] };
      lastModel = write.modelId;
      frames.push(last);
    }
  }
  return frames;
}

/** Half a step of the point's scaling: 10^sf / 2 for scaled points, 0.5 for integers, relative for floats. */
export function readBackTolerance(model: DecodedModel | undefined, path: string, written: number): number {
  const def = model ? definitionOf(model.id) : undefined;
  if (!model || !def) return 0.5;
  let location: PointLocation;
  try {
    location = pointAt(def, model, path);
  } catch {
    return 0.5;
  }
  if (typeof location.sf === 'number') return 10 ** location.sf / 2 + 1e-9;
  const type = location.point.type;
  if (type === 'float32' || type === 'float64') return Math.max(1e-9, Math.abs(written) * 1e-6);
  return 0.5;
}

function compare(after: readonly DecodedModel[], writes: readonly PlannedWrite[]): ReadBackEntry[] {
  return writes.map((w) => {
    const model = modelOf(after, w.modelId);
    const read = numberAt(model, w.path) ?? null;
    const matched = read !== null && Math.abs(read - w.value) <= readBackTolerance(model, w.path, w.value);
    return { modelId: w.modelId, path: w.path, written: w.value, read, matched };
  });
}

function describe(entries: readonly ReadBackEntry[]): string {
  return entries.map((e) => `${e.modelId}.${e.path} wrote ${e.written} read ${e.read ?? 'unimplemented'}`).join('; ');
}

/**
 * Plans, writes and confirms a setpoint. Resolves with confirmed: true and the read-back when
 * every written point reads back within its resolution; otherwise throws GW_ERR_DEVICE_REJECTED
 * with `details.readBack` (and `details.modbusException` when the device answered an exception).
 * Unreachable / protocol errors keep their (retryable) codes. Planning errors (GW_ERR_NOT_SUPPORTED,
 * GW_ERR_VALIDATION) are thrown before anything is written.
 */
export async function applySetpoint(
  transport: ModbusTransport,
  unit: number,
  scan: Pick<ScanResult, 'models'>,
  setpoint: Setpoint,
  options: PlanOptions = {},
): Promise<ApplyResult> {
  const before = await readModels(transport, unit, scan, { ids: CONTROL_CONTEXT_MODELS });
  const plan = planSetpoint(before, setpoint, options);
  const frames = encodePlan(before, plan);

  let failure: unknown;
  const sent: PlannedWrite[] = [];
  for (const frame of frames) {
    try {
      await transport.writeRegisters(unit, frame.address, frame.registers);
      sent.push(...frame.writes);
    } catch (error) {
      failure = error;
      break;
    }
  }

  const touched = [...new Set(plan.writes.map((w) => w.modelId))];
  let readBack: ReadBackEntry[];
  try {
    readBack = compare(await readModels(transport, unit, scan, { ids: touched }), plan.writes);
  } catch (error) {
    // The write failure says more than the failed read-back.
    if (failure !== undefined) throw rejected(failure, plan, sent, undefined);
    throw withContext(error, `unit ${unit}: reading back ${setpoint.kind}`);
  }
  if (failure !== undefined) throw rejected(failure, plan, sent, readBack);

  const mismatched = readBack.filter((e) => !e.matched);
  if (mismatched.length > 0) {
    throw new GridseamError(
      'GW_ERR_DEVICE_REJECTED',
      `unit ${unit}: the device did not take ${setpoint.kind} ${setpoint.value}: ${describe(mismatched)}`,
      { details: { unit, kind: setpoint.kind, readBack } },
    );
  }
  const primary = readBack.find((e) => e.modelId === plan.primary.modelId && e.path === plan.primary.path);
  const value = primary?.read === null || primary === undefined ? null : primary.read * plan.primary.factor;
  return { confirmed: true, readBack, plan, value: value === null ? null : Number(value.toPrecision(12)) };
}

function rejected(
  failure: unknown,
  plan: WritePlan,
  sent: readonly PlannedWrite[],
  readBack: ReadBackEntry[] | undefined,
): unknown {
  if (!isExceptionResponse(failure)) {
    // Unreachable or protocol errors stay retryable, with what was already written.
    if (!GridseamError.is(failure)) return failure;
    return new GridseamError(failure.code, `writing ${plan.kind}: ${failure.message}`, {
      cause: failure,
      details: { ...failure.details, written: sent.map((w) => `${w.modelId}.${w.path}`), readBack },
    });
  }
  const code = failure.details?.modbusException;
  return new GridseamError(
    'GW_ERR_DEVICE_REJECTED',
    `the device refused ${plan.kind} with Modbus exception ${String(code)}` +
      (readBack ? `; read back: ${describe(readBack)}` : ''),
    { cause: failure, details: { ...failure.details, kind: plan.kind, readBack } },
  );
}
