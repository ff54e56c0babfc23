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
import { exactly, withContext } from './io.ts';
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

interface PlannedModel {
  model: ScannedModel;
  def: ModelDef;
  /** The request that holds the whole model (ID through its last register), or -1 when it spans several. */
  within: number;
  /** Where the model starts in that request's registers. */
  offset: number;
}

interface ReadPlan {
  ids: readonly number[] | undefined;
  maxRegisters: number | undefined;
  chosen: readonly PlannedModel[];
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
  const picked: Array<{ model: ScannedModel; def: ModelDef }> = [];
  for (const model of models) {
    if (wanted && !wanted.has(model.id)) continue;
    const def = definitionOf(model.id);
    if (def) picked.push({ model, def });
  }
  const requests =
    picked.length === 0
      ? []
      : planReads(
          picked.map((c) => c.model),
          options.maxRegisters,
        );
  const chosen = picked.map(({ model, def }): PlannedModel => {
    const end = model.start + model.length + 2;
    const within = requests.findIndex((r) => r.address <= model.start && r.address + r.count >= end);
    return { model, def, within, offset: within < 0 ? 0 : model.start - requests[within]!.address };
  });
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

  // The registers of each request, in plan order.
  const image: Uint16Array[] = new Array(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    try {
      // The transport directly (readExact's checks, without its extra async frame per request).
      image[i] = exactly(
        await transport.readHoldingRegisters(unit, request.address, request.count),
        unit,
        request.address,
        request.count,
      );
    } catch (error) {
      throw withContext(error, `unit ${unit}: reading ${request.count} registers at ${request.address}`);
    }
  }

  // Decoding is CPU work: let the I/O callbacks already due run first, so answers that arrived
  // on other connections meanwhile send their next requests before this poll's decoding (on a
  // busy gateway the devices then work while this one decodes).
  await afterPendingIo();
  const decoded: DecodedModel[] = new Array(chosen.length);
  for (let i = 0; i < chosen.length; i++) {
    const { model, def, within, offset } = chosen[i]!;
    // Common case: one request holds the whole model; decode reads it in place (no copy).
    const block =
      within >= 0 ? image[within]!.subarray(offset, offset + model.length + 2) : blockOf(model, requests, image);
    if (block[0] !== model.id || block[1] !== model.length) {
      throw new GridseamError(
        'GW_ERR_DEVICE_PROTOCOL',
        `unit ${unit}: model ${model.id} at ${model.start} now reads as id ${block[0]} length ${block[1]}; the register map changed, rescan`,
        { details: { unit, address: model.start, expectedId: model.id, expectedLength: model.length } },
      );
    }
    try {
      decoded[i] = decodeModel(def, block, { start: model.start });
    } catch (error) {
      const context = `unit ${unit}: decoding model ${model.id} at ${model.start} (length ${model.length})`;
      if (GridseamError.is(error)) throw withContext(error, context);
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `${context}: ${String(error)}`, {
        cause: error,
        details: { unit, address: model.start, modelId: model.id },
      });
    }
  }
  return decoded;
}

/** Resolves once the I/O callbacks due now have run (setImmediate runs after the poll phase). */
function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Scratch for a model that spans requests: decoding is synchronous and keeps no reference to its block. */
let spanScratch = new Uint16Array(256);

/** Copies a model's block (ID through its last register) out of the several requests it spans, into scratch space. */
function blockOf(model: ScannedModel, requests: readonly ReadRequest[], image: readonly Uint16Array[]): Uint16Array {
  const size = model.length + 2;
  const end = model.start + size;
  if (spanScratch.length < size) spanScratch = new Uint16Array(size);
  const block = spanScratch.subarray(0, size);
  block.fill(0);
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    const from = Math.max(request.address, model.start);
    const to = Math.min(request.address + request.count, end);
    if (from >= to) continue;
    block.set(image[i]!.subarray(from - request.address, to - request.address), from - model.start);
  }
  return block;
}
