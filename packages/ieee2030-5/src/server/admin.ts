/**
 * UtilityAdmin: the utility's own operations (register EndDevices, programs, controls...). Every write is
 * validated, persisted through the SepStateStore and only then visible to clients; changes that subscribers
 * care about become Notifications.
 */
import { GridseamError } from '@gridseam/model';
import { emitSep } from '../codec/index.ts';
import { supersededBy } from '../events/index.ts';
import { isValidSfdi, normaliseLfdi, sfdiFromLfdi } from '../identity/lfdi.ts';
import type {
  CancelControlOptions,
  ControlBase,
  ControlFilter,
  ControlRecord,
  ControlView,
  CreateControlInput,
  CreateControlResult,
  CreateCurveInput,
  CreateFsaInput,
  CreateProgramInput,
  CurveRecord,
  DefaultControlRecord,
  DerReportRecord,
  EndDeviceFilter,
  EndDeviceRecord,
  FsaRecord,
  ListFilter,
  LogEventFilter,
  LogEventRecord,
  MirrorReadingRecord,
  MirrorUsagePointRecord,
  PollRateFamily,
  ProgramRecord,
  ReadingFilter,
  RegisterEndDeviceInput,
  ResponseFilter,
  ResponseRecord,
  SetDefaultControlInput,
  SubscriptionRecord,
  UpdateEndDeviceInput,
  UtilityAdmin,
} from './contract.ts';
import { CURVE_MODES, POLL_RATE_FAMILIES } from './contract.ts';
import type { ServerCore } from './core.ts';
import { type Change, change } from './state.ts';
import {
  checkHex,
  checkInteger,
  checkMrid,
  checkSlug,
  conflict,
  derivedMrid,
  invalid,
  newMrid,
  notFound,
} from './util.ts';
import { type ChangeEvent, mupRemovalChanges } from './writes.ts';

const MAX_UINT32 = 4294967295;
/** DERControlBase members, 2030.5-2018 and CSIP-AUS. */
const BASE_KEYS = new Set<string>([
  'opModConnect',
  'opModEnergize',
  'opModFixedPFAbsorbW',
  'opModFixedPFInjectW',
  'opModFixedVar',
  'opModFixedW',
  'opModFreqDroop',
  'opModMaxLimW',
  'opModTargetVar',
  'opModTargetW',
  'rampTms',
  ...CURVE_MODES,
  'opModImpLimW',
  'opModExpLimW',
  'opModGenLimW',
  'opModLoadLimW',
  'opModStorageTargetW',
]);
const CSIPAUS_KEYS = new Set(['opModImpLimW', 'opModExpLimW', 'opModGenLimW', 'opModLoadLimW', 'opModStorageTargetW']);
/** 2030.5 String32 (description). */
const MAX_DESCRIPTION = 32;

function page<T>(items: T[], filter: ListFilter | undefined): T[] {
  const offset = filter?.offset ?? 0;
  return filter?.limit === undefined ? items.slice(offset) : items.slice(offset, offset + filter.limit);
}

function checkDescription(value: unknown, what = 'description'): string {
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION)
    throw invalid(`${what} must be a string of at most ${MAX_DESCRIPTION} characters (2030.5 String32)`);
  return value;
}

function checkConnectionPointId(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 32)
    throw invalid('connectionPointId must be 1-32 characters');
  return value.trim();
}

export class Admin implements UtilityAdmin {
  constructor(
    private readonly core: ServerCore,
    private readonly onChange: (event: ChangeEvent) => void,
  ) {}

  get #state() {
    return this.core.state;
  }

  // -------------------------------------------------------------------------------------------------------------
  // EndDevices
  // -------------------------------------------------------------------------------------------------------------

  async registerEndDevice(input: RegisterEndDeviceInput): Promise<EndDeviceRecord> {
    if (typeof input !== 'object' || input === null) throw invalid('an EndDevice registration is required');
    const lfdi = input.lfdi === undefined ? '' : normaliseLfdi(input.lfdi);
    let sfdi: number;
    if (input.sfdi !== undefined) {
      if (!isValidSfdi(input.sfdi))
        throw invalid('sfdi is not a valid SFDI (36-bit value followed by its check digit)');
      sfdi = input.sfdi;
      if (lfdi !== '' && sfdiFromLfdi(lfdi) !== sfdi) throw invalid('sfdi does not belong to lfdi');
    } else if (lfdi !== '') sfdi = sfdiFromLfdi(lfdi);
    else throw invalid('give the lfdi (preferred) or the sfdi of the EndDevice');
    const role = input.role ?? 'device';
    if (role !== 'device' && role !== 'aggregator') throw invalid("role must be 'device' or 'aggregator'");
    if (role === 'aggregator' && lfdi === '')
      throw invalid('an aggregator is registered by the LFDI of its certificate');
    if (role === 'aggregator' && input.aggregatorLfdi !== undefined)
      throw invalid('an aggregator is not managed by another');
    const aggregatorLfdi = input.aggregatorLfdi === undefined ? undefined : normaliseLfdi(input.aggregatorLfdi);
    if (aggregatorLfdi !== undefined && aggregatorLfdi === lfdi) throw invalid('an EndDevice cannot manage itself');
    this.#checkProgramIds(input.programIds);
    const registeredBy = input.registeredBy ?? 'admin';
    if (registeredBy !== 'admin' && registeredBy !== 'scenario')
      throw invalid("registeredBy must be 'admin' or 'scenario'");
    return this.#state
      .transact(() => {
        const state = this.#state;
        if (lfdi !== '' && state.endDeviceByLfdi.has(lfdi))
          throw conflict(`an EndDevice with LFDI ${lfdi} is registered`);
        if (lfdi === '' && state.endDeviceBySfdiOnly.has(sfdi))
          throw conflict(`an EndDevice with SFDI ${sfdi} is registered`);
        const now = this.core.now();
        const id = state.nextId('endDevice');
        const record: EndDeviceRecord = {
          id,
          lfdi,
          sfdi,
          role,
          enabled: input.enabled ?? true,
          registeredBy,
          registeredAt: now,
          changedTime: now,
        };
        if (input.pin !== undefined) record.pin = checkInteger(input.pin, 'pin', 0, MAX_UINT32);
        if (aggregatorLfdi !== undefined) record.aggregatorLfdi = aggregatorLfdi;
        if (input.deviceCategory !== undefined)
          record.deviceCategory = checkHex(input.deviceCategory, 'deviceCategory', 4);
        if (input.postRate !== undefined) record.postRate = checkInteger(input.postRate, 'postRate', 0, MAX_UINT32);
        if (input.programIds !== undefined) record.programIds = [...input.programIds];
        if (input.derCount !== undefined) record.derCount = checkInteger(input.derCount, 'derCount', 0, 64);
        if (input.connectionPointId !== undefined)
          record.connectionPoint = {
            connectionPointId: checkConnectionPointId(input.connectionPointId),
            changedTime: now,
          };
        if (typeof record.enabled !== 'boolean') throw invalid('enabled must be true or false');
        return { changes: [change('endDevice', id, record)], result: record };
      })
      .then((record) => {
        this.onChange({ kind: 'endDevices', ids: [record.id] });
        return record;
      });
  }

  #checkProgramIds(programIds: readonly string[] | null | undefined): void {
    if (programIds === undefined || programIds === null) return;
    if (!Array.isArray(programIds)) throw invalid('programIds must be a list of program ids');
    for (const id of programIds)
      if (!this.#state.programs.has(id)) throw invalid(`programIds: no program ${String(id)}`);
  }

  async updateEndDevice(id: number, input: UpdateEndDeviceInput): Promise<EndDeviceRecord> {
    if (typeof input !== 'object' || input === null) throw invalid('an update is required');
    this.#checkProgramIds(input.programIds);
    const record = await this.#state.transact(() => {
      const current = this.#state.endDevices.get(id);
      if (current === undefined) throw notFound(`no EndDevice ${id}`);
      const now = this.core.now();
      const next: EndDeviceRecord = { ...current, changedTime: now };
      if (input.enabled !== undefined) {
        if (typeof input.enabled !== 'boolean') throw invalid('enabled must be true or false');
        next.enabled = input.enabled;
      }
      if (input.pin !== undefined) {
        if (input.pin === null) delete next.pin;
        else next.pin = checkInteger(input.pin, 'pin', 0, MAX_UINT32);
      }
      if (input.postRate !== undefined) {
        if (input.postRate === null) delete next.postRate;
        else next.postRate = checkInteger(input.postRate, 'postRate', 0, MAX_UINT32);
      }
      if (input.programIds !== undefined) {
        if (input.programIds === null) delete next.programIds;
        else next.programIds = [...input.programIds];
      }
      if (input.aggregatorLfdi !== undefined) {
        if (input.aggregatorLfdi === null) delete next.aggregatorLfdi;
        else {
          if (current.role === 'aggregator') throw invalid('an aggregator is not managed by another');
          next.aggregatorLfdi = normaliseLfdi(input.aggregatorLfdi);
        }
      }
      if (input.derCount !== undefined) next.derCount = checkInteger(input.derCount, 'derCount', 0, 64);
      if (input.connectionPointId !== undefined) {
        if (input.connectionPointId === null) delete next.connectionPoint;
        else
          next.connectionPoint = {
            connectionPointId: checkConnectionPointId(input.connectionPointId),
            changedTime: now,
          };
      }
      return { changes: [change('endDevice', id, next)], result: next };
    });
    this.onChange({ kind: 'endDevices', ids: [id] });
    return record;
  }

  async removeEndDevice(id: number): Promise<void> {
    await this.#state.transact(() => {
      const state = this.#state;
      const device = state.endDevices.get(id);
      if (device === undefined) throw notFound(`no EndDevice ${id}`);
      const changes: Change[] = [change('endDevice', id, null)];
      for (const subscription of state.subscriptionsByDevice.get(id) ?? [])
        changes.push(change('subscription', subscription.id, null));
      for (const event of state.logEventsByDevice.get(id) ?? []) changes.push(change('logEvent', event.id, null));
      for (const response of state.responsesByDevice.get(id) ?? []) changes.push(change('response', response.id, null));
      for (const report of state.derReports.values())
        if (report.endDeviceId === id) changes.push(change('derReport', report.id, null));
      for (const mup of state.mups.values())
        if (mup.endDeviceId === id) changes.push(...mupRemovalChanges(this.core, mup));
      for (const program of state.programs.values()) {
        const own = state.defaultControls.get(`${program.id}/${id}`);
        if (own !== undefined) changes.push(change('defaultControl', own.id, null));
        for (const control of state.deviceControls.get(`${program.id}/${id}`) ?? []) {
          const rest = (control.endDeviceIds ?? []).filter((other) => other !== id);
          changes.push(change('control', control.mRID, rest.length === 0 ? null : { ...control, endDeviceIds: rest }));
        }
      }
      return { changes, result: undefined };
    });
    this.onChange({ kind: 'endDevices', ids: [id] });
  }

  getEndDevice(idOrLfdi: number | string): EndDeviceRecord | undefined {
    if (typeof idOrLfdi === 'number') return this.#state.endDevices.get(idOrLfdi);
    if (typeof idOrLfdi !== 'string') return undefined;
    return this.#state.endDeviceByLfdi.get(idOrLfdi.trim().toLowerCase());
  }

  listEndDevices(filter?: EndDeviceFilter): EndDeviceRecord[] {
    let devices: EndDeviceRecord[];
    if (filter?.aggregatorLfdi !== undefined)
      devices = [...(this.#state.devicesByAggregator.get(filter.aggregatorLfdi.toLowerCase()) ?? [])];
    else devices = [...this.#state.endDevices.values()].sort((a, b) => a.id - b.id);
    if (filter?.lfdi !== undefined) {
      const lfdi = filter.lfdi.toLowerCase();
      devices = devices.filter((device) => device.lfdi === lfdi);
    }
    if (filter?.role !== undefined) devices = devices.filter((device) => device.role === filter.role);
    return page(devices, filter);
  }

  // -------------------------------------------------------------------------------------------------------------
  // FSAs and programs
  // -------------------------------------------------------------------------------------------------------------

  async createFsa(input: CreateFsaInput): Promise<FsaRecord> {
    const fsa = await this.#state.transact(() => {
      const id = input.id === undefined ? this.#freeId('fsa', this.#state.fsas) : checkSlug(input.id, 'id');
      if (this.#state.fsas.has(id)) throw conflict(`FunctionSetAssignments ${id} exists`);
      const record: FsaRecord = {
        id,
        mRID: input.mRID === undefined ? newMrid(this.core.options.mridPen) : checkMrid(input.mRID),
        description: checkDescription(input.description),
      };
      return { changes: [change('fsa', id, record)], result: record };
    });
    this.onChange({ kind: 'programs' });
    return fsa;
  }

  listFsas(): FsaRecord[] {
    return [...this.#state.fsas.values()];
  }

  #freeId(prefix: string, map: ReadonlyMap<string, unknown>): string {
    let index = map.size + 1;
    while (map.has(`${prefix}${index}`)) index += 1;
    return `${prefix}${index}`;
  }

  async createProgram(input: CreateProgramInput): Promise<ProgramRecord> {
    if (typeof input !== 'object' || input === null) throw invalid('a program is required');
    const program = await this.#state.transact(() => {
      const state = this.#state;
      const id = input.id === undefined ? this.#freeId('p', state.programs) : checkSlug(input.id, 'id');
      if (state.programs.has(id)) throw conflict(`DERProgram ${id} exists`);
      const fsaId = checkSlug(input.fsaId ?? 'default', 'fsaId');
      const changes: Change[] = [];
      if (!state.fsas.has(fsaId)) {
        changes.push(
          change('fsa', fsaId, {
            id: fsaId,
            mRID: newMrid(this.core.options.mridPen),
            description: fsaId.slice(0, 32),
          }),
        );
      }
      const record: ProgramRecord = {
        id,
        mRID: input.mRID === undefined ? newMrid(this.core.options.mridPen) : checkMrid(input.mRID),
        description: checkDescription(input.description),
        primacy: checkInteger(input.primacy, 'primacy', 0, 255),
        fsaId,
        changedTime: this.core.now(),
      };
      if (input.version !== undefined) record.version = checkInteger(input.version, 'version', 0, 65535);
      if ([...state.programs.values()].some((other) => other.mRID === record.mRID))
        throw conflict('a DERProgram has this mRID');
      changes.push(change('program', id, record));
      return { changes, result: record };
    });
    this.onChange({ kind: 'programs' });
    return program;
  }

  async updateProgram(id: string, input: Partial<Omit<CreateProgramInput, 'id'>>): Promise<ProgramRecord> {
    const program = await this.#state.transact(() => {
      const state = this.#state;
      const current = state.programs.get(id);
      if (current === undefined) throw notFound(`no DERProgram ${id}`);
      const next: ProgramRecord = { ...current, changedTime: this.core.now() };
      const changes: Change[] = [];
      if (input.description !== undefined) next.description = checkDescription(input.description);
      if (input.primacy !== undefined) next.primacy = checkInteger(input.primacy, 'primacy', 0, 255);
      if (input.version !== undefined) next.version = checkInteger(input.version, 'version', 0, 65535);
      if (input.mRID !== undefined) next.mRID = checkMrid(input.mRID);
      if (input.fsaId !== undefined) {
        next.fsaId = checkSlug(input.fsaId, 'fsaId');
        if (!state.fsas.has(next.fsaId))
          changes.push(
            change('fsa', next.fsaId, {
              id: next.fsaId,
              mRID: newMrid(this.core.options.mridPen),
              description: next.fsaId.slice(0, 32),
            }),
          );
      }
      changes.push(change('program', id, next));
      return { changes, result: next };
    });
    this.onChange({ kind: 'programs' });
    return program;
  }

  async removeProgram(id: string): Promise<void> {
    await this.#state.transact(() => {
      const state = this.#state;
      if (!state.programs.has(id)) throw notFound(`no DERProgram ${id}`);
      const changes: Change[] = [change('program', id, null)];
      for (const control of state.controls.values())
        if (control.programId === id) changes.push(change('control', control.mRID, null));
      for (const record of state.defaultControls.values())
        if (record.programId === id) changes.push(change('defaultControl', record.id, null));
      for (const curve of state.curvesByProgram.get(id) ?? []) changes.push(change('curve', curve.id, null));
      for (const device of state.endDevices.values()) {
        if (device.programIds?.includes(id))
          changes.push(
            change('endDevice', device.id, {
              ...device,
              programIds: device.programIds.filter((other) => other !== id),
            }),
          );
      }
      return { changes, result: undefined };
    });
    this.onChange({ kind: 'programs' });
  }

  listPrograms(): ProgramRecord[] {
    return [...this.#state.programsByPrimacy];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Control bases, curves, default controls
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Checks a DERControlBase: known members only, CSIP-AUS members only in the csip-aus profile, curve
   * references to curves of the program, and every value fitting its 2030.5 type (checked by emitting it).
   */
  #checkBase(base: unknown, programId: string): ControlBase {
    if (typeof base !== 'object' || base === null || Array.isArray(base))
      throw invalid('base must be an object of control modes');
    const record = base as Record<string, unknown>;
    const keys = Object.keys(record).filter((key) => record[key] !== undefined);
    for (const key of keys) {
      if (!BASE_KEYS.has(key)) throw invalid(`base.${key} is not a DERControlBase control mode`);
      if (CSIPAUS_KEYS.has(key) && !this.core.options.csipaus)
        throw invalid(`base.${key} is a CSIP-AUS extension; the profile is csip`);
      if (key === 'opModStorageTargetW' && this.core.options.csipausVersion !== 'v1.3')
        throw invalid('base.opModStorageTargetW needs CSIP-AUS v1.3');
    }
    for (const mode of CURVE_MODES) {
      const link = record[mode];
      if (link === undefined) continue;
      const curveId = (link as { curveId?: unknown } | null)?.curveId;
      if (typeof curveId !== 'string' || !this.#state.curves.has(`${programId}/${curveId}`))
        throw invalid(`base.${mode} must be {curveId} of a DERCurve of program ${programId}`);
    }
    const typed = base as ControlBase;
    try {
      emitSep(
        'DefaultDERControl',
        { mRID: '0'.repeat(32), DERControlBase: this.core.renderBase(typed, 1, programId) },
        { csipaus: this.core.options.csipausVersion },
      );
    } catch (error) {
      if (GridseamError.is(error)) throw invalid(`base: ${error.message}`);
      throw error;
    }
    return structuredClone(typed);
  }

  async setDefaultControl(input: SetDefaultControlInput): Promise<DefaultControlRecord> {
    if (typeof input !== 'object' || input === null) throw invalid('a default control is required');
    const record = await this.#state.transact(() => {
      const state = this.#state;
      const program = state.programs.get(input.programId);
      if (program === undefined) throw invalid(`no DERProgram ${String(input.programId)}`);
      if (input.endDeviceId !== undefined && !state.endDevices.has(input.endDeviceId))
        throw invalid(`no EndDevice ${input.endDeviceId}`);
      const id = input.endDeviceId === undefined ? program.id : `${program.id}/${input.endDeviceId}`;
      const existing = state.defaultControls.get(id);
      const next: DefaultControlRecord = {
        id,
        programId: program.id,
        mRID: input.mRID !== undefined ? checkMrid(input.mRID) : (existing?.mRID ?? newMrid(this.core.options.mridPen)),
        base: this.#checkBase(input.base, program.id),
        changedTime: this.core.now(),
      };
      if (existing !== undefined) next.version = ((existing.version ?? 0) + 1) % 65536;
      if (input.endDeviceId !== undefined) next.endDeviceId = input.endDeviceId;
      if (input.description !== undefined) next.description = checkDescription(input.description);
      const uint16 = ['setESDelay', 'setESRampTms', 'setESRandomDelay', 'setGradW', 'setSoftGradW'] as const;
      for (const key of uint16) {
        const value = input[key];
        if (value !== undefined)
          next[key] = checkInteger(
            value,
            key,
            0,
            key === 'setESDelay' || key === 'setESRampTms' || key === 'setESRandomDelay' ? MAX_UINT32 : 65535,
          );
      }
      for (const key of ['setESHighFreq', 'setESHighVolt', 'setESLowFreq', 'setESLowVolt'] as const) {
        const value = input[key];
        if (value !== undefined) next[key] = checkInteger(value, key, 0, 65535);
      }
      this.#trialEmitDefault(next);
      return { changes: [change('defaultControl', id, next)], result: next };
    });
    this.onChange({ kind: 'defaultControl', programId: record.programId, endDeviceId: record.endDeviceId });
    this.onChange({ kind: 'programs' });
    return record;
  }

  #trialEmitDefault(record: DefaultControlRecord): void {
    const device = {
      id: 1,
      lfdi: '',
      sfdi: 0,
      role: 'device',
      enabled: true,
      registeredBy: 'admin',
      registeredAt: 0,
      changedTime: 0,
    } as const;
    const program = this.#state.programs.get(record.programId);
    if (program === undefined) return;
    try {
      emitSep('DefaultDERControl', this.core.defaultDerControl(device, program, record), {
        csipaus: this.core.options.csipausVersion,
      });
    } catch (error) {
      if (GridseamError.is(error)) throw invalid(`default control: ${error.message}`);
      throw error;
    }
  }

  async clearDefaultControl(programId: string, endDeviceId?: number): Promise<void> {
    const id = endDeviceId === undefined ? programId : `${programId}/${endDeviceId}`;
    await this.#state.transact(() => {
      if (!this.#state.defaultControls.has(id)) throw notFound(`no default control ${id}`);
      return { changes: [change('defaultControl', id, null)], result: undefined };
    });
    this.onChange({ kind: 'defaultControl', programId, endDeviceId });
    this.onChange({ kind: 'programs' });
  }

  listDefaultControls(programId?: string): DefaultControlRecord[] {
    const all = [...this.#state.defaultControls.values()];
    return programId === undefined ? all : all.filter((record) => record.programId === programId);
  }

  async createCurve(input: CreateCurveInput): Promise<CurveRecord> {
    if (typeof input !== 'object' || input === null) throw invalid('a curve is required');
    const curve = await this.#state.transact(() => {
      const state = this.#state;
      if (!state.programs.has(input.programId)) throw invalid(`no DERProgram ${String(input.programId)}`);
      const existing = state.curvesByProgram.get(input.programId) ?? [];
      const curveId =
        input.curveId === undefined
          ? this.#freeId('c', new Map(existing.map((c) => [c.curveId, c])))
          : checkSlug(input.curveId, 'curveId');
      const id = `${input.programId}/${curveId}`;
      if (state.curves.has(id)) throw conflict(`DERCurve ${curveId} exists in program ${input.programId}`);
      if (!Array.isArray(input.CurveData) || input.CurveData.length < 1 || input.CurveData.length > 10)
        throw invalid('CurveData must have 1 to 10 points (2030.5 DERCurve)');
      const { programId, curveId: _curveId, mRID, ...rest } = input;
      const record: CurveRecord = {
        ...structuredClone(rest),
        id,
        programId,
        curveId,
        mRID: mRID === undefined ? newMrid(this.core.options.mridPen) : checkMrid(mRID),
        creationTime: this.core.now(),
        xMultiplier: input.xMultiplier ?? 0,
        yMultiplier: input.yMultiplier ?? 0,
      };
      if (record.description !== undefined) checkDescription(record.description);
      try {
        const { id: _id, programId: _p, curveId: _c, ...curve } = record;
        emitSep('DERCurve', curve);
      } catch (error) {
        if (GridseamError.is(error)) throw invalid(`curve: ${error.message}`);
        throw error;
      }
      return { changes: [change('curve', id, record)], result: record };
    });
    this.onChange({ kind: 'programs' });
    return curve;
  }

  async removeCurve(programId: string, curveId: string): Promise<void> {
    const id = `${programId}/${curveId}`;
    await this.#state.transact(() => {
      const state = this.#state;
      if (!state.curves.has(id)) throw notFound(`no DERCurve ${curveId} in program ${programId}`);
      const uses = (base: ControlBase) => CURVE_MODES.some((mode) => base[mode]?.curveId === curveId);
      for (const control of state.controls.values())
        if (control.programId === programId && uses(control.base))
          throw conflict(`DERControl ${control.mRID} uses this curve`);
      for (const record of state.defaultControls.values())
        if (record.programId === programId && uses(record.base)) throw conflict(`a default control uses this curve`);
      return { changes: [change('curve', id, null)], result: undefined };
    });
    this.onChange({ kind: 'programs' });
  }

  listCurves(programId?: string): CurveRecord[] {
    if (programId !== undefined) return [...(this.#state.curvesByProgram.get(programId) ?? [])];
    return [...this.#state.curves.values()];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Controls
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Creates a DERControl (or one per EndDevice when sharedControls is off) and decides at insert time which
   * existing controls it supersedes (events/supersededBy: overlapping, same or worse primacy, sharing a
   * control type). A control only supersedes controls whose EndDevices it also covers, so an EndDevice's own
   * control never marks a program-wide control superseded for everybody.
   */
  async createControl(input: CreateControlInput): Promise<CreateControlResult> {
    if (typeof input !== 'object' || input === null) throw invalid('a control is required');
    const result = await this.#state.transact(() => {
      const state = this.#state;
      const { core } = this;
      const program = state.programs.get(input.programId);
      if (program === undefined) throw invalid(`no DERProgram ${String(input.programId)}`);
      let endDeviceIds: number[] | undefined;
      if (input.endDeviceIds !== undefined) {
        if (!Array.isArray(input.endDeviceIds) || input.endDeviceIds.length === 0)
          throw invalid('endDeviceIds must list at least one EndDevice (leave it out for every EndDevice)');
        endDeviceIds = [...new Set(input.endDeviceIds)].sort((a, b) => a - b);
        for (const id of endDeviceIds) {
          const device = state.endDevices.get(id);
          if (device === undefined || device.role !== 'device') throw invalid(`endDeviceIds: no DER EndDevice ${id}`);
        }
      }
      const now = core.now();
      const start = input.start === undefined ? now : checkInteger(input.start, 'start', 0, 2 ** 53 - 1);
      const duration = checkInteger(input.duration, 'duration', 0, MAX_UINT32);
      const base = this.#checkBase(input.base, program.id);
      if (Object.keys(base).filter((key) => key !== 'rampTms').length === 0)
        throw invalid('base must set at least one control mode');
      const template: Omit<ControlRecord, 'mRID'> = {
        programId: program.id,
        creationTime: now,
        start,
        duration,
        responseRequired:
          input.responseRequired === undefined ? '03' : checkHex(input.responseRequired, 'responseRequired', 1),
        base,
      };
      if (input.description !== undefined) template.description = checkDescription(input.description);
      if (input.randomizeStart !== undefined)
        template.randomizeStart = checkInteger(input.randomizeStart, 'randomizeStart', -3600, 3600);
      if (input.randomizeDuration !== undefined)
        template.randomizeDuration = checkInteger(input.randomizeDuration, 'randomizeDuration', -3600, 3600);
      const baseMrid = input.mRID === undefined ? undefined : checkMrid(input.mRID);
      const split = endDeviceIds !== undefined && endDeviceIds.length > 1 && !core.options.sharedControls;
      const created: ControlRecord[] = split
        ? (endDeviceIds ?? []).map((deviceId) => ({
            ...template,
            mRID:
              baseMrid === undefined
                ? newMrid(core.options.mridPen)
                : derivedMrid(`${baseMrid}:${deviceId}`, core.options.mridPen),
            endDeviceIds: [deviceId],
          }))
        : [
            {
              ...template,
              mRID: baseMrid ?? newMrid(core.options.mridPen),
              ...(endDeviceIds === undefined ? {} : { endDeviceIds }),
            },
          ];
      for (const control of created)
        if (state.controls.has(control.mRID)) throw conflict(`a DERControl with mRID ${control.mRID} exists`);

      const updated = new Map<string, ControlRecord>();
      for (const [index, control] of created.entries()) {
        const candidates = this.#supersessionCandidates(control, now);
        const outcome = supersededBy(
          core.scheduled(control),
          candidates.map((candidate) => core.scheduled(updated.get(candidate.mRID) ?? candidate)),
          now,
        );
        for (const { mRID, at } of outcome.superseded) {
          const old = updated.get(mRID) ?? state.controls.get(mRID);
          if (old !== undefined)
            updated.set(mRID, { ...old, superseded: true, supersededAt: at, supersededBy: control.mRID });
        }
        for (const { mRID, at } of outcome.potentiallySuperseded) {
          const old = updated.get(mRID) ?? state.controls.get(mRID);
          if (old !== undefined && old.potentiallySupersededAt === undefined)
            updated.set(mRID, { ...old, potentiallySupersededAt: at });
        }
        if (outcome.newControlPotentiallySuperseded) created[index] = { ...control, potentiallySupersededAt: now };
      }
      const changes: Change[] = [
        ...created.map((control) => change('control', control.mRID, control)),
        ...[...updated.values()].map((control) => change('control', control.mRID, control)),
      ];
      return {
        changes,
        result: {
          controls: created,
          superseded: [...updated.values()].filter((control) => control.superseded === true),
        },
      };
    });
    for (const control of result.controls) this.#controlChanged(control);
    for (const control of result.superseded) this.#controlChanged(control);
    return result;
  }

  /** Live controls whose EndDevices the new control covers (the only ones it may supersede). */
  #supersessionCandidates(control: ControlRecord, now: number): ControlRecord[] {
    const state = this.#state;
    const live = (candidate: ControlRecord) =>
      candidate.mRID !== control.mRID &&
      candidate.cancelledAt === undefined &&
      !candidate.superseded &&
      this.core.isListed(candidate, now);
    if (control.endDeviceIds === undefined) {
      const out: ControlRecord[] = [];
      for (const candidate of state.controls.values()) if (live(candidate)) out.push(candidate);
      return out;
    }
    const covered = new Set(control.endDeviceIds);
    const out = new Map<string, ControlRecord>();
    for (const deviceId of control.endDeviceIds) {
      for (const program of state.programs.values()) {
        for (const candidate of state.deviceControls.get(`${program.id}/${deviceId}`) ?? []) {
          if (live(candidate) && (candidate.endDeviceIds ?? []).every((id) => covered.has(id)))
            out.set(candidate.mRID, candidate);
        }
      }
    }
    return [...out.values()];
  }

  #controlChanged(control: ControlRecord): void {
    this.onChange({
      kind: 'controls',
      programId: control.programId,
      endDeviceIds: control.endDeviceIds,
      mRIDs: [control.mRID],
    });
  }

  async cancelControl(mRID: string, options: CancelControlOptions = {}): Promise<ControlRecord> {
    const key = typeof mRID === 'string' ? mRID.trim().toLowerCase() : '';
    const { record, changed } = await this.#state.transact(() => {
      const current = this.#state.controls.get(key);
      if (current === undefined) throw notFound(`no DERControl ${String(mRID)}`);
      if (current.cancelledAt !== undefined) return { changes: [], result: { record: current, changed: false } };
      const next = this.#cancelled(current, options);
      return { changes: [change('control', key, next)], result: { record: next, changed: true } };
    });
    if (changed) this.#controlChanged(record);
    return record;
  }

  #cancelled(control: ControlRecord, options: CancelControlOptions): ControlRecord {
    const next: ControlRecord = { ...control, cancelledAt: this.core.now() };
    if (options.randomized !== undefined) next.cancelRandomized = options.randomized === true;
    return next;
  }

  async cancelAllControls(
    filter: { programId?: string; endDeviceId?: number } = {},
    options: CancelControlOptions = {},
  ): Promise<ControlRecord[]> {
    const cancelled = await this.#state.transact(() => {
      const state = this.#state;
      const now = this.core.now();
      const device = filter.endDeviceId === undefined ? undefined : state.endDevices.get(filter.endDeviceId);
      if (filter.endDeviceId !== undefined && device === undefined)
        throw notFound(`no EndDevice ${filter.endDeviceId}`);
      const out: ControlRecord[] = [];
      for (const control of state.controls.values()) {
        if (control.cancelledAt !== undefined || !this.core.isListed(control, now)) continue;
        if (filter.programId !== undefined && control.programId !== filter.programId) continue;
        if (device !== undefined && !this.core.controlApplies(control, device)) continue;
        out.push(this.#cancelled(control, options));
      }
      return { changes: out.map((control) => change('control', control.mRID, control)), result: out };
    });
    for (const control of cancelled) this.#controlChanged(control);
    return cancelled;
  }

  /**
   * Deletes controls that left every list more than `controlRetentionSeconds` ago (housekeeping, run by the
   * server hourly). Returns how many were deleted.
   */
  async pruneExpiredControls(): Promise<number> {
    return this.#state.transact(() => {
      const now = this.core.now();
      const horizon = now - this.core.options.controlRetentionSeconds;
      const changes: Change[] = [];
      for (const control of this.#state.controls.values()) {
        if (this.core.listedUntil(control) <= horizon) changes.push(change('control', control.mRID, null));
      }
      return { changes, result: changes.length };
    });
  }

  #view(control: ControlRecord, now: number): ControlView {
    return { ...control, currentStatus: this.core.eventStatus(control, now).currentStatus };
  }

  getControl(mRID: string): ControlView | undefined {
    const control = this.#state.controls.get(typeof mRID === 'string' ? mRID.trim().toLowerCase() : '');
    return control === undefined ? undefined : this.#view(control, this.core.now());
  }

  listControls(filter?: ControlFilter): ControlView[] {
    const state = this.#state;
    const now = this.core.now();
    const device = filter?.endDeviceId === undefined ? undefined : state.endDevices.get(filter.endDeviceId);
    if (filter?.endDeviceId !== undefined && device === undefined) return [];
    const out: ControlView[] = [];
    for (const control of state.controls.values()) {
      if (filter?.programId !== undefined && control.programId !== filter.programId) continue;
      if (device !== undefined && !this.core.controlApplies(control, device)) continue;
      if (!filter?.includeExpired && !this.core.isListed(control, now)) continue;
      out.push(this.#view(control, now));
    }
    out.sort((a, b) => a.start - b.start || b.creationTime - a.creationTime);
    return page(out, filter);
  }

  // -------------------------------------------------------------------------------------------------------------
  // What clients reported
  // -------------------------------------------------------------------------------------------------------------

  listResponses(filter?: ResponseFilter): ResponseRecord[] {
    const state = this.#state;
    let responses =
      filter?.endDeviceId !== undefined
        ? [...(state.responsesByDevice.get(filter.endDeviceId) ?? [])]
        : [...state.responses.values()];
    if (filter?.subject !== undefined) {
      const subject = filter.subject.toLowerCase();
      responses = responses.filter((response) => response.subject === subject);
    }
    if (filter?.status !== undefined) responses = responses.filter((response) => response.status === filter.status);
    if (filter?.since !== undefined) {
      const since = filter.since;
      responses = responses.filter((response) => response.receivedAt >= since);
    }
    responses.sort((a, b) => a.id - b.id);
    return page(responses, filter);
  }

  derReports(endDeviceId: number): DerReportRecord[] {
    const out: DerReportRecord[] = [];
    for (const report of this.#state.derReports.values()) if (report.endDeviceId === endDeviceId) out.push(report);
    return out.sort((a, b) => a.derId - b.derId || (a.kind < b.kind ? -1 : 1));
  }

  mirrorUsagePoints(filter?: { endDeviceId?: number; ownerLfdi?: string }): MirrorUsagePointRecord[] {
    let mups =
      filter?.ownerLfdi !== undefined
        ? [...(this.#state.mupsByOwner.get(filter.ownerLfdi.toLowerCase()) ?? [])]
        : [...this.#state.mups.values()];
    if (filter?.endDeviceId !== undefined) mups = mups.filter((mup) => mup.endDeviceId === filter.endDeviceId);
    return mups.sort((a, b) => a.id - b.id);
  }

  async clearMirrorUsagePoints(filter: { endDeviceId?: number; ownerLfdi?: string }): Promise<number> {
    if (filter?.endDeviceId === undefined && filter?.ownerLfdi === undefined)
      throw invalid('give endDeviceId or ownerLfdi');
    return this.#state.transact(() => {
      const mups = this.mirrorUsagePoints(filter);
      return { changes: mups.flatMap((mup) => mupRemovalChanges(this.core, mup)), result: mups.length };
    });
  }

  mirrorReadings(filter?: ReadingFilter): MirrorReadingRecord[] {
    const state = this.#state;
    let mups =
      filter?.mupId !== undefined
        ? [state.mups.get(filter.mupId)].filter((mup) => mup !== undefined)
        : [...state.mups.values()];
    if (filter?.endDeviceId !== undefined) mups = mups.filter((mup) => mup.endDeviceId === filter.endDeviceId);
    const out: MirrorReadingRecord[] = [];
    for (const mup of mups) {
      for (const definition of mup.MirrorMeterReading) {
        if (filter?.mmrMRID !== undefined && definition.mRID !== filter.mmrMRID.toLowerCase()) continue;
        for (const reading of state.readingsByMmr.get(`${mup.id}/${definition.mRID}`) ?? []) {
          if (filter?.since !== undefined && reading.receivedAt < filter.since) continue;
          out.push(reading);
        }
      }
    }
    out.sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : 1));
    return page(out, filter);
  }

  logEvents(filter?: LogEventFilter): LogEventRecord[] {
    const state = this.#state;
    let events =
      filter?.endDeviceId !== undefined
        ? [...(state.logEventsByDevice.get(filter.endDeviceId) ?? [])]
        : [...state.logEvents.values()];
    if (filter?.since !== undefined) {
      const since = filter.since;
      events = events.filter((event) => event.receivedAt >= since);
    }
    events.sort((a, b) => a.id - b.id);
    return page(events, filter);
  }

  listSubscriptions(filter?: { endDeviceId?: number }): SubscriptionRecord[] {
    if (filter?.endDeviceId !== undefined)
      return [...(this.#state.subscriptionsByDevice.get(filter.endDeviceId) ?? [])];
    return [...this.#state.subscriptions.values()];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Rates
  // -------------------------------------------------------------------------------------------------------------

  async setPollRate(family: PollRateFamily, seconds: number | null): Promise<void> {
    if (!POLL_RATE_FAMILIES.includes(family))
      throw invalid(`${String(family)} is not a resource family with a pollRate`);
    await this.#state.transact(() => {
      const settings = this.#state.settings;
      const pollRates = { ...settings.pollRates };
      if (seconds === null) delete pollRates[family];
      else pollRates[family] = checkInteger(seconds, 'pollRate', 0, MAX_UINT32);
      return { changes: [change('settings', 'settings', { ...settings, pollRates })], result: undefined };
    });
    this.onChange({ kind: 'pollRate', family });
  }

  pollRates(): Record<PollRateFamily, number> {
    const out = {} as Record<PollRateFamily, number>;
    for (const family of POLL_RATE_FAMILIES) out[family] = this.core.pollRate(family);
    return out;
  }

  async setPostRate(seconds: number | null): Promise<void> {
    await this.#state.transact(() => {
      const next = { ...this.#state.settings };
      if (seconds === null) delete next.postRate;
      else next.postRate = checkInteger(seconds, 'postRate', 0, MAX_UINT32);
      return { changes: [change('settings', 'settings', next)], result: undefined };
    });
  }
}
