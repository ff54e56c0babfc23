/**
 * The CSMS's commands in both versions behind one interface. Each method is one or a few CALLs and
 * the mapping of the answer; error mapping of the CALL itself is `callStation`'s (link.ts).
 */
import { GridseamError } from '@gridseam/model';
import type { ChargingProfileSpec, ChargingRateUnit, CompositeSchedule } from '../contract.ts';
import { toV16Profile, toV201Profile } from '../smart-charging/wire.ts';
import type * as V16 from '../types/v16.ts';
import type * as V201 from '../types/v201.ts';
import { compositeFromV16, compositeFromV201 } from './limits.ts';
import type { StationRecord } from './stations.ts';

/** One command's view of its station: the record and a CALL with the command's timeout. */
export interface CommandContext {
  readonly identity: string;
  readonly record: StationRecord;
  now(): number;
  call<T>(action: string, params: object): Promise<T>;
}

export interface StationCommands {
  setProfile(ctx: CommandContext, evseId: number, spec: ChargingProfileSpec): Promise<void>;
  /** 'Unknown' when the station had no such profile. */
  clearProfile(ctx: CommandContext, profileId: number): Promise<'Accepted' | 'Unknown'>;
  composite(
    ctx: CommandContext,
    evseId: number,
    durationS: number,
    unit: ChargingRateUnit | undefined,
  ): Promise<CompositeSchedule>;
  remoteStart(ctx: CommandContext, evseId: number, idTag: string): Promise<'Accepted' | 'Rejected'>;
  remoteStop(ctx: CommandContext, transactionId: string): Promise<'Accepted' | 'Rejected'>;
  reset(ctx: CommandContext, type: 'Hard' | 'Soft'): Promise<string>;
  changeAvailability(ctx: CommandContext, evseId: number, available: boolean): Promise<string>;
  getSettings(ctx: CommandContext, keys: readonly string[]): Promise<Record<string, string | undefined>>;
  setSettings(ctx: CommandContext, values: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  triggerBoot(ctx: CommandContext): Promise<string>;
  /** Asks the station to sample meter values every `seconds` (sent after an accepted boot). */
  setMeterInterval(ctx: CommandContext, seconds: number): Promise<void>;
}

function rejected(ctx: CommandContext, what: string, status: string, reason?: V201.StatusInfoType): GridseamError {
  const because = reason ? ` (${reason.reasonCode}${reason.additionalInfo ? `: ${reason.additionalInfo}` : ''})` : '';
  return new GridseamError('GW_ERR_DEVICE_REJECTED', `${ctx.identity} answered ${what} with ${status}${because}`, {
    details: {
      identity: ctx.identity,
      status,
      ...(reason ? { reasonCode: reason.reasonCode, additionalInfo: reason.additionalInfo } : {}),
    },
  });
}

function invalid(message: string, path: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
}

// ---------------------------------------------------------------------------------------------
// 1.6

function call16<A extends V16.V16Action>(
  ctx: CommandContext,
  action: A,
  params: V16.V16RequestMap[A],
): Promise<V16.V16ResponseMap[A]> {
  return ctx.call<V16.V16ResponseMap[A]>(action, params);
}

export const V16_COMMANDS: StationCommands = {
  async setProfile(ctx, evseId, spec) {
    const answer = await call16(ctx, 'SetChargingProfile', {
      connectorId: evseId,
      csChargingProfiles: toV16Profile(spec),
    });
    if (answer.status === 'NotSupported') {
      // §5.16: NotSupported = the charge point has no Smart Charging feature profile.
      throw new GridseamError('GW_ERR_NOT_SUPPORTED', `${ctx.identity} does not support smart charging`, {
        details: { identity: ctx.identity, status: answer.status },
      });
    }
    if (answer.status !== 'Accepted') throw rejected(ctx, 'SetChargingProfile', answer.status);
  },
  async clearProfile(ctx, profileId) {
    return (await call16(ctx, 'ClearChargingProfile', { id: profileId })).status;
  },
  async composite(ctx, evseId, durationS, unit) {
    const answer = await call16(ctx, 'GetCompositeSchedule', {
      connectorId: evseId,
      duration: durationS,
      ...(unit ? { chargingRateUnit: unit } : {}),
    });
    return compositeFromV16(ctx.identity, answer, evseId, durationS, ctx.now());
  },
  async remoteStart(ctx, evseId, idTag) {
    // §5.11: connectorId SHALL be > 0 when given; 0 lets the charge point choose.
    return (await call16(ctx, 'RemoteStartTransaction', { idTag, ...(evseId > 0 ? { connectorId: evseId } : {}) }))
      .status;
  },
  async remoteStop(ctx, transactionId) {
    if (!/^-?\d{1,10}$/.test(transactionId) || !Number.isSafeInteger(Number(transactionId))) {
      throw invalid('a 1.6 transactionId is an integer', '/transactionId');
    }
    return (await call16(ctx, 'RemoteStopTransaction', { transactionId: Number(transactionId) })).status;
  },
  async reset(ctx, type) {
    return (await call16(ctx, 'Reset', { type })).status;
  },
  async changeAvailability(ctx, evseId, available) {
    return (
      await call16(ctx, 'ChangeAvailability', { connectorId: evseId, type: available ? 'Operative' : 'Inoperative' })
    ).status;
  },
  async getSettings(ctx, keys) {
    // §5.8: no key asks for every key.
    const answer = await call16(ctx, 'GetConfiguration', keys.length > 0 ? { key: [...keys] } : {});
    const out: Record<string, string | undefined> = {};
    for (const key of keys) out[key] = undefined;
    for (const entry of answer.configurationKey ?? []) out[entry.key] = entry.value;
    return out;
  },
  async setSettings(ctx, values) {
    // §5.3: one key per ChangeConfiguration.
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      out[key] = (await call16(ctx, 'ChangeConfiguration', { key, value })).status;
    }
    return out;
  },
  async triggerBoot(ctx) {
    return (await call16(ctx, 'TriggerMessage', { requestedMessage: 'BootNotification' })).status;
  },
  async setMeterInterval(ctx, seconds) {
    const answer = await call16(ctx, 'ChangeConfiguration', {
      key: 'MeterValueSampleInterval',
      value: String(seconds),
    });
    if (answer.status !== 'Accepted' && answer.status !== 'RebootRequired') {
      throw rejected(ctx, 'ChangeConfiguration MeterValueSampleInterval', answer.status);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// 2.0.1

function call201<A extends V201.V201Action>(
  ctx: CommandContext,
  action: A,
  params: V201.V201RequestMap[A],
): Promise<V201.V201ResponseMap[A]> {
  return ctx.call<V201.V201ResponseMap[A]>(action, params);
}

/** "Component.Variable", each optionally with "[instance]": e.g. "SampledDataCtrlr.TxUpdatedInterval". */
const SETTING_KEY = /^([^.[\]]+)(?:\[([^\]]+)\])?\.([^.[\]]+)(?:\[([^\]]+)\])?$/;

interface ComponentVariable {
  component: V201.ComponentType;
  variable: V201.VariableType;
}

export function parseSettingKey(key: string): ComponentVariable {
  const match = SETTING_KEY.exec(key);
  if (!match) throw invalid(`setting key ${JSON.stringify(key.slice(0, 80))} is not "Component.Variable"`, '/keys');
  const [, component, componentInstance, variable, variableInstance] = match;
  return {
    component: { name: component!, ...(componentInstance ? { instance: componentInstance } : {}) },
    variable: { name: variable!, ...(variableInstance ? { instance: variableInstance } : {}) },
  };
}

function sameTarget(a: ComponentVariable, b: ComponentVariable): boolean {
  return (
    a.component.name === b.component.name &&
    a.component.instance === b.component.instance &&
    a.variable.name === b.variable.name &&
    a.variable.instance === b.variable.instance
  );
}

/** Matches each asked key to the station's result for it (by component and variable, as B06/B05 echo them). */
function resultsByKey<R extends ComponentVariable>(
  keys: readonly string[],
  asked: ComponentVariable[],
  results: R[],
): Map<string, R> {
  const out = new Map<string, R>();
  keys.forEach((key, index) => {
    const found = results.find((result) => sameTarget(result, asked[index]!));
    if (found) out.set(key, found);
  });
  return out;
}

/** RequestStartTransaction.remoteStartId values: increasing, seeded from the clock like the 1.6 transaction ids. */
let remoteStartCounter = Math.floor(Date.now() / 1000) % 1_000_000_000;

export const V201_COMMANDS: StationCommands = {
  async setProfile(ctx, evseId, spec) {
    const answer = await call201(ctx, 'SetChargingProfile', { evseId, chargingProfile: toV201Profile(spec) });
    if (answer.status !== 'Accepted') throw rejected(ctx, 'SetChargingProfile', answer.status, answer.statusInfo);
  },
  async clearProfile(ctx, profileId) {
    return (await call201(ctx, 'ClearChargingProfile', { chargingProfileId: profileId })).status;
  },
  async composite(ctx, evseId, durationS, unit) {
    const answer = await call201(ctx, 'GetCompositeSchedule', {
      evseId,
      duration: durationS,
      ...(unit ? { chargingRateUnit: unit } : {}),
    });
    return compositeFromV201(ctx.identity, answer, ctx.now());
  },
  async remoteStart(ctx, evseId, idTag) {
    // F01: remoteStartId lets the later TransactionEvent refer back to this request.
    remoteStartCounter = remoteStartCounter >= 2_147_483_647 ? 1 : remoteStartCounter + 1;
    const remoteStartId = remoteStartCounter;
    const answer = await call201(ctx, 'RequestStartTransaction', {
      remoteStartId,
      idToken: { idToken: idTag, type: 'Central' },
      ...(evseId > 0 ? { evseId } : {}),
    });
    return answer.status;
  },
  async remoteStop(ctx, transactionId) {
    return (await call201(ctx, 'RequestStopTransaction', { transactionId })).status;
  },
  async reset(ctx, type) {
    // B11/B12: Immediate is the hard reset, OnIdle waits for transactions to end.
    return (await call201(ctx, 'Reset', { type: type === 'Hard' ? 'Immediate' : 'OnIdle' })).status;
  },
  async changeAvailability(ctx, evseId, available) {
    const answer = await call201(ctx, 'ChangeAvailability', {
      operationalStatus: available ? 'Operative' : 'Inoperative',
      ...(evseId > 0 ? { evse: { id: evseId } } : {}),
    });
    return answer.status;
  },
  async getSettings(ctx, keys) {
    if (keys.length === 0) throw invalid('2.0.1 needs the "Component.Variable" keys to read', '/keys');
    const asked = keys.map(parseSettingKey);
    const answer = await call201(ctx, 'GetVariables', {
      getVariableData: asked.map((target) => ({ component: target.component, variable: target.variable })),
    });
    const found = resultsByKey(keys, asked, answer.getVariableResult);
    const out: Record<string, string | undefined> = {};
    for (const key of keys) {
      const result = found.get(key);
      out[key] = result?.attributeStatus === 'Accepted' ? result.attributeValue : undefined;
    }
    return out;
  },
  async setSettings(ctx, values) {
    const keys = Object.keys(values);
    if (keys.length === 0) return {};
    const asked = keys.map(parseSettingKey);
    const answer = await call201(ctx, 'SetVariables', {
      setVariableData: asked.map((target, index) => ({
        component: target.component,
        variable: target.variable,
        attributeValue: values[keys[index]!]!,
      })),
    });
    const found = resultsByKey(keys, asked, answer.setVariableResult);
    const out: Record<string, string> = {};
    for (const key of keys) out[key] = found.get(key)?.attributeStatus ?? 'Rejected';
    return out;
  },
  async triggerBoot(ctx) {
    return (await call201(ctx, 'TriggerMessage', { requestedMessage: 'BootNotification' })).status;
  },
  async setMeterInterval(ctx, seconds) {
    const answer = await call201(ctx, 'SetVariables', {
      setVariableData: [
        {
          component: { name: 'SampledDataCtrlr' },
          variable: { name: 'TxUpdatedInterval' },
          attributeValue: String(seconds),
        },
      ],
    });
    const status = answer.setVariableResult[0]?.attributeStatus ?? 'Rejected';
    if (status !== 'Accepted' && status !== 'RebootRequired') {
      throw rejected(ctx, 'SetVariables SampledDataCtrlr.TxUpdatedInterval', status);
    }
  },
};
