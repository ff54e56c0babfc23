/**
 * Reading models: requests of at most 125 registers (Modbus AP 6.3), cut on model boundaries. A
 * request covers whole adjacent models, or a chunk of one longer model (its last chunk possibly
 * followed by whole adjacent models), and never an address outside the models the scan announced (some devices answer exception 2 to a read that
 * strays past a model, pysunspec2 issue #89). Each model is decoded from one block, so its scale
 * factors come from the same read as its values, or from the same poll when the model needs several
 * requests (device_edge.md 1.3).
 */
import { GridseamError } from '@gridseam/model';
import { decodeModel, getModelDefinition } from '../codec/index.ts';
import type { DecodedModel, ModelDef } from '../codec/types.ts';
import { MAX_READ_REGISTERS, type ModbusTransport } from '../modbus/transport.ts';
import { readExact, withContext } from './io.ts';
import type { ScannedModel, ScanResult } from './scan.ts';

export interface ReadOptions {
  /** Read only these model ids (default: every scanned model the codec has a definition for). */
  ids?: readonly number[];
  /** Largest request; default and ceiling 125. */
  maxRegisters?: number;
}

/** One FC3 request of a read plan. */
export interface ReadRequest {
  address: number;
  count: number;
}

/** The definition of a model id, or undefined when the codec does not know it. */
export function definitionOf(id: number): ModelDef | undefined {
  try {
    return getModelDefinition(id) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Plans the requests for a set of models: adjacent models share a request while it stays within
 * `maxRegisters`; a model longer than that is read in consecutive chunks, and its last chunk may
 * take in the adjacent models after it. Every request starts and ends where the scan put models.
 */
export function planReads(models: readonly ScannedModel[], maxRegisters = MAX_READ_REGISTERS): ReadRequest[] {
  const limit = Math.min(Math.max(1, Math.trunc(maxRegisters)), MAX_READ_REGISTERS);
  const requests: ReadRequest[] = [];
  let open: ReadRequest | undefined;
  for (const model of [...models].sort((a, b) => a.start - b.start)) {
    const size = model.length + 2;
    if (open && open.address + open.count === model.start && open.count + size <= limit) {
      open.count += size;
      continue;
    }
    if (size <= limit) {
      open = { address: model.start, count: size };
      requests.push(open);
      continue;
    }
    // Longer than a request: consecutive chunks; the last one, which ends on the model's boundary,
    // may still take in the models that follow.
    for (let offset = 0; offset < size; offset += limit) {
      open = { address: model.start + offset, count: Math.min(limit, size - offset) };
      requests.push(open);
    }
  }
  return requests;
}

interface ReadPlan {
  ids: readonly number[] | undefined;
  maxRegisters: number | undefined;
  chosen: ReadonlyArray<{ model: ScannedModel; def: ModelDef }>;
  requests: readonly ReadRequest[];
}

/**
 * The last plan per scanned model list: a poll asks for the same ids (the same array) every time,
 * so choosing and planning are done once per scan instead of once per poll. A scan's model list is
 * not changed after the scan (a rescan makes a new one).
 */
const plans = new WeakMap<readonly ScannedModel[], ReadPlan>();

function readPlanOf(models: readonly ScannedModel[], options: ReadOptions): ReadPlan {
  const cached = plans.get(models);
  if (cached && cached.ids === options.ids && cached.maxRegisters === options.maxRegisters) return cached;
  const wanted = options.ids === undefined ? undefined : new Set(options.ids);
  const chosen: Array<{ model: ScannedModel; def: ModelDef }> = [];
  for (const model of models) {
    if (wanted && !wanted.has(model.id)) continue;
    const def = definitionOf(model.id);
    if (def) chosen.push({ model, def });
  }
  const requests =
    chosen.length === 0
      ? []
      : planReads(
          chosen.map((c) => c.model),
          options.maxRegisters,
        );
  const plan: ReadPlan = { ids: options.ids, maxRegisters: options.maxRegisters, chosen, requests };
  plans.set(models, plan);
  return plan;
}

/** Reads and decodes the chosen models, in scan order. */
export async function readModels(
  transport: ModbusTransport,
  unit: number,
  scan: Pick<ScanResult, 'models'>,
  options: ReadOptions = {},
): Promise<DecodedModel[]> {
  const { chosen, requests } = readPlanOf(scan.models, options);
  if (chosen.length === 0) return [];

  // One register image of the polled ranges, filled request by request.
  const image = new Map<number, Uint16Array>();
  for (const request of requests) {
    try {
      image.set(request.address, await readExact(transport, unit, request.address, request.count));
    } catch (error) {
      throw withContext(error, `unit ${unit}: reading ${request.count} registers at ${request.address}`);
    }
  }

  return chosen.map(({ model, def }) => {
    const block = blockOf(model, requests, image);
    if (block[0] !== model.id || block[1] !== model.length) {
      throw new GridseamError(
        'GW_ERR_DEVICE_PROTOCOL',
        `unit ${unit}: model ${model.id} at ${model.start} now reads as id ${block[0]} length ${block[1]}; the register map changed, rescan`,
        { details: { unit, address: model.start, expectedId: model.id, expectedLength: model.length } },
      );
    }
    try {
      return decodeModel(def, block, { start: model.start });
    } catch (error) {
      const context = `unit ${unit}: decoding model ${model.id} at ${model.start} (length ${model.length})`;
      if (GridseamError.is(error)) throw withContext(error, context);
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `${context}: ${String(error)}`, {
        cause: error,
        details: { unit, address: model.start, modelId: model.id },
      });
    }
  });
}

/** Cuts a model's block (ID through its last register) out of the polled requests. */
function blockOf(model: ScannedModel, requests: readonly ReadRequest[], image: Map<number, Uint16Array>): Uint16Array {
  const size = model.length + 2;
  const end = model.start + size;
  for (const request of requests) {
    // Common case: one request holds the whole model; decode reads it in place (no copy).
    if (request.address <= model.start && request.address + request.count >= end) {
      const registers = image.get(request.address)!;
      return registers.subarray(model.start - request.address, end - request.address);
    }
  }
  const block = new Uint16Array(size);
  for (const request of requests) {
    const from = Math.max(request.address, model.start);
    const to = Math.min(request.address + request.count, end);
    if (from >= to) continue;
    const registers = image.get(request.address)!;
    block.set(registers.subarray(from - request.address, to - request.address), from - model.start);
  }
  return block;
}
