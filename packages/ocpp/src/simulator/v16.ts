/**
 * OCPP 1.6J on the wire for the simulator: BootNotification, StatusNotification (connector 0 is
 * the charge point), Start/StopTransaction with the CSMS-assigned integer transactionId,
 * MeterValues with string values, and the Central System's requests (SetChargingProfile,
 * GetCompositeSchedule, ClearChargingProfile, RemoteStart/StopTransaction, Reset,
 * ChangeAvailability, Get/ChangeConfiguration, TriggerMessage).
 */
import type { ChargingProfileSpec, EvseStatus } from '../contract.ts';
import { fromV16Profile, type V16ChargingProfile } from '../smart-charging/wire.ts';
import type * as V16 from '../types/v16.ts';
import { compositePeriods, iso, parseMeasurands, sampledValues } from './common.ts';
import {
  MAX_INSTALLED_PROFILES,
  MAX_PERIODS_PER_SCHEDULE,
  MAX_STACK_LEVEL,
  SAMPLED_MEASURANDS,
  type SampledMeasurand,
} from './constants.ts';
import type { OutboxEntry } from './outbox.ts';
import type { ClientLink, InboundCall } from './rpc.ts';
import { isWholeNumber, type SettingDefinition } from './settings.ts';
import type { Dialect, MeterContext, MeterSample, SessionState, SimulatorCore, StopCause } from './types.ts';

const PURPOSE_OF: Readonly<
  Record<V16.ClearChargingProfileRequestChargingProfilePurpose, ChargingProfileSpec['purpose']>
> = {
  ChargePointMaxProfile: 'StationMax',
  TxDefaultProfile: 'TxDefault',
  TxProfile: 'Tx',
};

const STOP_REASON: Readonly<Record<StopCause, V16.StopTransactionRequestReason>> = {
  EVDisconnected: 'EVDisconnected',
  Remote: 'Remote',
  // 1.6 has no "stopped by the EV" reason.
  EVFull: 'Other',
  HardReset: 'HardReset',
  SoftReset: 'SoftReset',
  DeAuthorized: 'DeAuthorized',
};

function statusOf(status: EvseStatus): V16.StatusNotificationRequestStatus {
  return status === 'Occupied' ? 'Preparing' : status;
}

function handle<A extends keyof V16.V16RequestMap>(
  link: ClientLink,
  action: A,
  handler: (params: V16.V16RequestMap[A]) => V16.V16ResponseMap[A],
): void {
  // Strict mode has checked params against the 1.6 schema before the handler runs.
  link.handle(action, (call: InboundCall) => handler(call.params as V16.V16RequestMap[A]));
}

export function createV16Dialect(core: SimulatorCore): Dialect {
  const lastStatus = new Map<number, V16.StatusNotificationRequestStatus>();

  const measurands = (): SampledMeasurand[] =>
    parseMeasurands(core.settings.value('MeterValuesSampledData') ?? '') ?? [...SAMPLED_MEASURANDS];

  // StopTransaction's transactionData allows a subset of MeterValues' units, so build that type.
  const meterValue = (sample: MeterSample, context: MeterContext): V16.StopTransactionRequestTransactionData => ({
    timestamp: iso(sample.timestamp),
    sampledValue: sampledValues(sample, measurands()).map((v) => {
      const out: V16.StopTransactionRequestTransactionDataSampledValue = {
        value: String(v.value),
        context,
        measurand: v.measurand,
        unit: v.unit,
      };
      if (v.phase !== undefined) out.phase = v.phase;
      if (v.location !== undefined) out.location = v.location;
      return out;
    }),
  });

  /** The CSMS's integer transactionId, once StartTransaction was answered. */
  const txNumber = (session: SessionState): number | undefined =>
    session.transactionId === undefined ? undefined : Number(session.transactionId);

  const settings = (): Record<string, SettingDefinition> => ({
    HeartbeatInterval: {
      value: String(core.heartbeatIntervalS),
      mutability: 'ReadWrite',
      accepts: isWholeNumber,
      apply: (v) => core.settingChanged('heartbeat', v),
    },
    MeterValueSampleInterval: {
      value: String(core.meterIntervalS),
      mutability: 'ReadWrite',
      accepts: isWholeNumber,
      apply: (v) => core.settingChanged('meter', v),
    },
    MeterValuesSampledData: {
      value: SAMPLED_MEASURANDS.join(','),
      mutability: 'ReadWrite',
      accepts: (v) => parseMeasurands(v) !== undefined,
    },
    ChargeProfileMaxStackLevel: { value: String(MAX_STACK_LEVEL), mutability: 'ReadOnly' },
    ChargingScheduleAllowedChargingRateUnit: { value: 'Current,Power', mutability: 'ReadOnly' },
    ChargingScheduleMaxPeriods: { value: String(MAX_PERIODS_PER_SCHEDULE), mutability: 'ReadOnly' },
    MaxChargingProfilesInstalled: { value: String(MAX_INSTALLED_PROFILES), mutability: 'ReadOnly' },
    NumberOfConnectors: { value: String(core.evseCount), mutability: 'ReadOnly' },
    SupportedFeatureProfiles: { value: 'Core,SmartCharging,RemoteTrigger', mutability: 'ReadOnly' },
    TransactionMessageAttempts: { value: '3', mutability: 'ReadWrite', accepts: isWholeNumber },
    TransactionMessageRetryInterval: { value: '10', mutability: 'ReadWrite', accepts: isWholeNumber },
    // Security Whitepaper ed. 3 §2.1: the profile may only be raised.
    SecurityProfile: {
      value: String(core.securityProfile),
      mutability: 'ReadWrite',
      accepts: (v) => /^[0-3]$/.test(v) && Number(v) >= Number(core.settings.value('SecurityProfile') ?? 0),
    },
    // Security Whitepaper: write-only, never reported by GetConfiguration.
    AuthorizationKey: {
      value: '',
      mutability: 'WriteOnly',
      accepts: (v) => v.length > 0 && v.length <= 40,
      apply: (v) => core.settingChanged('password', v),
    },
  });

  const register = (link: ClientLink): void => {
    handle(link, 'SetChargingProfile', ({ connectorId, csChargingProfiles }) => {
      let spec: ChargingProfileSpec;
      try {
        spec = fromV16Profile(csChargingProfiles);
      } catch (error) {
        core.reportRejection({
          evseId: connectorId,
          profileId: csChargingProfiles.chargingProfileId,
          reasons: [error instanceof Error ? error.message : String(error)],
        });
        return { status: 'Rejected' };
      }
      return { status: core.installProfile(connectorId, spec).accepted ? 'Accepted' : 'Rejected' };
    });

    handle(link, 'GetCompositeSchedule', ({ connectorId, duration, chargingRateUnit }) => {
      const schedule = core.composite(connectorId, duration, chargingRateUnit);
      if (!schedule) return { status: 'Rejected' };
      return {
        status: 'Accepted',
        connectorId,
        scheduleStart: iso(schedule.start),
        chargingSchedule: {
          duration: schedule.durationS,
          startSchedule: iso(schedule.start),
          chargingRateUnit: schedule.unit,
          chargingSchedulePeriod: compositePeriods(schedule),
        },
      };
    });

    handle(link, 'ClearChargingProfile', ({ id, connectorId, chargingProfilePurpose, stackLevel }) => {
      const criteria: Parameters<SimulatorCore['clearProfiles']>[0] = {};
      if (id !== undefined) criteria.id = id;
      if (connectorId !== undefined) criteria.evseId = connectorId;
      if (chargingProfilePurpose !== undefined) criteria.purpose = PURPOSE_OF[chargingProfilePurpose];
      if (stackLevel !== undefined) criteria.stackLevel = stackLevel;
      return { status: core.clearProfiles(criteria) > 0 ? 'Accepted' : 'Unknown' };
    });

    handle(link, 'RemoteStartTransaction', ({ connectorId, idTag, chargingProfile }) => {
      if (connectorId !== undefined && connectorId <= 0) return { status: 'Rejected' };
      let profile: ChargingProfileSpec | undefined;
      try {
        profile = chargingProfile ? fromV16Profile(chargingProfile as V16ChargingProfile) : undefined;
      } catch {
        return { status: 'Rejected' };
      }
      const request: Parameters<SimulatorCore['remoteStart']>[0] = { idTag };
      if (connectorId !== undefined) request.evseId = connectorId;
      if (profile) request.profile = profile;
      return { status: core.remoteStart(request) };
    });

    handle(link, 'RemoteStopTransaction', ({ transactionId }) => ({ status: core.remoteStop(String(transactionId)) }));

    handle(link, 'Reset', ({ type }) => ({ status: core.reset(type) === 'Rejected' ? 'Rejected' : 'Accepted' }));

    handle(link, 'ChangeAvailability', ({ connectorId, type }) => ({
      status: core.changeAvailability(connectorId, type === 'Operative'),
    }));

    handle(link, 'GetConfiguration', ({ key }) => {
      const keys = key === undefined || key.length === 0 ? core.settings.readableKeys() : key;
      const configurationKey: V16.GetConfigurationResponseConfigurationKey[] = [];
      const unknownKey: string[] = [];
      for (const name of keys) {
        const read = core.settings.read(name);
        if (read.status === 'Accepted')
          configurationKey.push({ key: name, readonly: read.readonly, value: read.value });
        else unknownKey.push(name);
      }
      return unknownKey.length > 0 ? { configurationKey, unknownKey } : { configurationKey };
    });

    handle(link, 'ChangeConfiguration', ({ key, value }) => {
      const outcome = core.settings.write(key, value);
      return { status: outcome === 'Unknown' ? 'NotSupported' : outcome };
    });

    handle(link, 'TriggerMessage', ({ requestedMessage, connectorId }) => {
      if (connectorId !== undefined && (connectorId < 0 || connectorId > core.evseCount)) return { status: 'Rejected' };
      switch (requestedMessage) {
        case 'BootNotification':
          core.later(() => core.sendBoot('Triggered'));
          return { status: 'Accepted' };
        case 'Heartbeat':
          core.later(() => core.sendHeartbeat());
          return { status: 'Accepted' };
        case 'StatusNotification':
          core.later(() => core.sendStatus(connectorId));
          return { status: 'Accepted' };
        case 'MeterValues':
          core.later(() => core.sendMeterValues(connectorId, 'Trigger'));
          return { status: 'Accepted' };
        default:
          return { status: 'NotImplemented' };
      }
    });
  };

  return {
    heartbeatKey: 'HeartbeatInterval',
    attemptsKey: 'TransactionMessageAttempts',
    retryIntervalKey: 'TransactionMessageRetryInterval',
    settings,
    register,

    bootParams: (): V16.BootNotificationRequest => ({
      chargePointVendor: 'Gridseam',
      chargePointModel: 'SimCharger',
      chargePointSerialNumber: core.serialNumber.slice(0, 25),
      firmwareVersion: core.firmwareVersion.slice(0, 50),
    }),

    statusEntries(evseId: number, status: EvseStatus, force = false): OutboxEntry[] {
      const wire = statusOf(status);
      if (!force && lastStatus.get(evseId) === wire) return [];
      lastStatus.set(evseId, wire);
      const at = core.now();
      const params: V16.StatusNotificationRequest = {
        connectorId: evseId,
        errorCode: 'NoError',
        status: wire,
        timestamp: iso(at),
      };
      return [{ action: 'StatusNotification', durable: false, build: () => params }];
    },

    startEntry(session: SessionState): OutboxEntry {
      return {
        action: 'StartTransaction',
        durable: true,
        build: (): V16.StartTransactionRequest => ({
          connectorId: session.evseId,
          idTag: session.idTag.slice(0, 20),
          meterStart: Math.round(session.meterStartWh),
          timestamp: iso(session.startedAt),
        }),
        onResult: (result) => {
          const answer = result as V16.StartTransactionResponse;
          session.transactionId = String(answer.transactionId);
          // 1.6 §4.8: an idTag the Central System does not accept ends the transaction (DeAuthorized).
          if (answer.idTagInfo.status !== 'Accepted') core.deauthorized(session);
        },
      };
    },

    meterEntry(session: SessionState | undefined, sample: MeterSample, context: MeterContext): OutboxEntry {
      const value = meterValue(sample, context);
      if (!session) {
        const params: V16.MeterValuesRequest = { connectorId: sample.evseId, meterValue: [value] };
        return { action: 'MeterValues', durable: false, build: () => params };
      }
      return {
        action: 'MeterValues',
        durable: true,
        build: (): V16.MeterValuesRequest | undefined => {
          const transactionId = txNumber(session);
          return transactionId === undefined
            ? undefined
            : { connectorId: session.evseId, transactionId, meterValue: [value] };
        },
      };
    },

    stopEntry(session: SessionState, sample: MeterSample): OutboxEntry {
      const value = meterValue(sample, 'Transaction.End');
      return {
        action: 'StopTransaction',
        durable: true,
        build: (): V16.StopTransactionRequest | undefined => {
          const transactionId = txNumber(session);
          if (transactionId === undefined) return undefined;
          return {
            transactionId,
            idTag: session.idTag.slice(0, 20),
            meterStop: Math.round(session.meterStopWh ?? session.meterStartWh + session.energyWh),
            timestamp: iso(session.endedAt ?? sample.timestamp),
            reason: STOP_REASON[session.stopCause ?? 'EVDisconnected'],
            transactionData: [value],
          };
        },
      };
    },
  };
}
