/**
 * OCPP 2.0.1 on the wire for the simulator: BootNotification with a reason, StatusNotification
 * per EVSE connector, TransactionEvent Started/Updated/Ended (the station names the transaction,
 * seqNo counts per transaction, offline=true for events that happened offline, E04), MeterValues
 * outside transactions, and the CSMS's requests (SetChargingProfile, GetCompositeSchedule,
 * ClearChargingProfile, RequestStart/StopTransaction, Reset, ChangeAvailability,
 * Get/SetVariables over a small device model, TriggerMessage).
 */
import type { ChargingProfileSpec, EvseStatus } from '../contract.ts';
import { fromV201Profile } from '../smart-charging/wire.ts';
import type * as V201 from '../types/v201.ts';
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
import { isBoolean, isWholeNumber, type SettingDefinition } from './settings.ts';
import type { Dialect, MeterContext, MeterSample, SessionState, SimulatorCore, StopCause } from './types.ts';

const PURPOSE_OF: Readonly<Record<V201.ChargingProfilePurposeEnumType, ChargingProfileSpec['purpose']>> = {
  ChargingStationMaxProfile: 'StationMax',
  TxDefaultProfile: 'TxDefault',
  TxProfile: 'Tx',
  ChargingStationExternalConstraints: 'ExternalConstraints',
};

const STOPPED_REASON: Readonly<Record<StopCause, V201.ReasonEnumType>> = {
  EVDisconnected: 'EVDisconnected',
  Remote: 'Remote',
  EVFull: 'StoppedByEV',
  HardReset: 'ImmediateReset',
  SoftReset: 'ImmediateReset',
  DeAuthorized: 'DeAuthorized',
};

const ENDED_TRIGGER: Readonly<Record<StopCause, V201.TriggerReasonEnumType>> = {
  EVDisconnected: 'EVCommunicationLost',
  Remote: 'RemoteStop',
  EVFull: 'ChargingStateChanged',
  HardReset: 'ResetCommand',
  SoftReset: 'ResetCommand',
  DeAuthorized: 'Deauthorized',
};

function connectorStatusOf(status: EvseStatus): V201.ConnectorStatusEnumType {
  switch (status) {
    case 'Available':
    case 'Unavailable':
    case 'Faulted':
    case 'Reserved':
    case 'Occupied':
      return status;
    default:
      return 'Occupied';
  }
}

function handle<A extends keyof V201.V201RequestMap>(
  link: ClientLink,
  action: A,
  handler: (params: V201.V201RequestMap[A]) => V201.V201ResponseMap[A],
): void {
  // Strict mode has checked params against the 2.0.1 schema before the handler runs.
  link.handle(action, (call: InboundCall) => handler(call.params as V201.V201RequestMap[A]));
}

/** StatusInfoType: reasonCode at most 20 characters, additionalInfo at most 512. */
function statusInfo(reasonCode: string, additionalInfo?: string): V201.StatusInfoType {
  const info: V201.StatusInfoType = { reasonCode: reasonCode.slice(0, 20) };
  if (additionalInfo !== undefined) info.additionalInfo = additionalInfo.slice(0, 512);
  return info;
}

export function createV201Dialect(core: SimulatorCore): Dialect {
  const lastStatus = new Map<number, V201.ConnectorStatusEnumType>();

  const measurands = (): SampledMeasurand[] =>
    parseMeasurands(core.settings.value('SampledDataCtrlr.TxUpdatedMeasurands') ?? '') ?? [...SAMPLED_MEASURANDS];

  const meterValue = (sample: MeterSample, context: MeterContext): V201.MeterValueType => ({
    timestamp: iso(sample.timestamp),
    sampledValue: sampledValues(sample, measurands()).map((v) => {
      const out: V201.SampledValueType = {
        value: v.value,
        context,
        measurand: v.measurand,
        unitOfMeasure: { unit: v.unit },
      };
      if (v.phase !== undefined) out.phase = v.phase;
      if (v.location !== undefined) out.location = v.location;
      return out;
    }),
  });

  /** A TransactionEvent, numbered now (seqNo) and marked offline when it happens offline (E04). */
  const transactionEvent = (
    session: SessionState,
    request: Omit<V201.TransactionEventRequest, 'seqNo' | 'offline'>,
  ): OutboxEntry => {
    const params: V201.TransactionEventRequest = { ...request, seqNo: session.seqNo++ };
    if (!core.online()) params.offline = true;
    return {
      action: 'TransactionEvent',
      durable: true,
      build: () => params,
      onResult: (result) => {
        const status = (result as V201.TransactionEventResponse).idTokenInfo?.status;
        // E05 / E07: a transaction whose idToken the CSMS does not accept stops.
        if (status !== undefined && status !== 'Accepted' && session.state === 'active') core.deauthorized(session);
      },
    };
  };

  const transactionInfo = (session: SessionState, chargingState: V201.ChargingStateEnumType): V201.TransactionType => {
    const info: V201.TransactionType = { transactionId: session.transactionId!, chargingState };
    if (session.remoteStartId !== undefined) info.remoteStartId = session.remoteStartId;
    return info;
  };

  const settings = (): Record<string, SettingDefinition> => ({
    'OCPPCommCtrlr.HeartbeatInterval': {
      value: String(core.heartbeatIntervalS),
      mutability: 'ReadWrite',
      accepts: isWholeNumber,
      apply: (v) => core.settingChanged('heartbeat', v),
    },
    'OCPPCommCtrlr.MessageAttempts': { value: '3', mutability: 'ReadWrite', accepts: isWholeNumber },
    'OCPPCommCtrlr.MessageAttemptInterval': { value: '10', mutability: 'ReadWrite', accepts: isWholeNumber },
    'SampledDataCtrlr.TxUpdatedInterval': {
      value: String(core.meterIntervalS),
      mutability: 'ReadWrite',
      accepts: isWholeNumber,
      apply: (v) => core.settingChanged('meter', v),
    },
    'SampledDataCtrlr.TxUpdatedMeasurands': {
      value: SAMPLED_MEASURANDS.join(','),
      mutability: 'ReadWrite',
      accepts: (v) => parseMeasurands(v) !== undefined,
    },
    'SmartChargingCtrlr.Available': { value: 'true', mutability: 'ReadOnly' },
    'SmartChargingCtrlr.Enabled': { value: 'true', mutability: 'ReadWrite', accepts: isBoolean },
    'SmartChargingCtrlr.ProfileStackLevel': { value: String(MAX_STACK_LEVEL), mutability: 'ReadOnly' },
    'SmartChargingCtrlr.RateUnit': { value: 'A,W', mutability: 'ReadOnly' },
    'SmartChargingCtrlr.PeriodsPerSchedule': { value: String(MAX_PERIODS_PER_SCHEDULE), mutability: 'ReadOnly' },
    'SmartChargingCtrlr.Entries': { value: String(MAX_INSTALLED_PROFILES), mutability: 'ReadOnly' },
    'ChargingStation.EVSECount': { value: String(core.evseCount), mutability: 'ReadOnly' },
    // 2.0.1: the security profile changes through SetNetworkProfile, not SetVariables.
    'SecurityCtrlr.SecurityProfile': { value: String(core.securityProfile), mutability: 'ReadOnly' },
    'SecurityCtrlr.BasicAuthPassword': {
      value: '',
      mutability: 'WriteOnly',
      accepts: (v) => v.length > 0 && v.length <= 40,
      apply: (v) => core.settingChanged('password', v),
    },
  });

  const keyOf = (component: V201.ComponentType, variable: V201.VariableType): string =>
    `${component.name}.${variable.name}`;

  const unknownOf = (component: V201.ComponentType): 'UnknownComponent' | 'UnknownVariable' => {
    const prefix = `${component.name}.`;
    return core.settings.keys().some((k) => k.startsWith(prefix)) ? 'UnknownVariable' : 'UnknownComponent';
  };

  const register = (link: ClientLink): void => {
    handle(link, 'SetChargingProfile', ({ evseId, chargingProfile }) => {
      let spec: ChargingProfileSpec;
      try {
        spec = fromV201Profile(chargingProfile);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        core.reportRejection({ evseId, profileId: chargingProfile.id, reasons: [reason] });
        return { status: 'Rejected', statusInfo: statusInfo('InvalidProfile', reason) };
      }
      const outcome = core.installProfile(evseId, spec);
      return outcome.accepted
        ? { status: 'Accepted' }
        : { status: 'Rejected', statusInfo: statusInfo('InvalidProfile', outcome.reasons.join('; ')) };
    });

    handle(link, 'GetCompositeSchedule', ({ evseId, duration, chargingRateUnit }) => {
      const schedule = core.composite(evseId, duration, chargingRateUnit);
      if (!schedule) return { status: 'Rejected', statusInfo: statusInfo('UnknownEVSE') };
      return {
        status: 'Accepted',
        schedule: {
          evseId,
          duration: schedule.durationS,
          scheduleStart: iso(schedule.start),
          chargingRateUnit: schedule.unit,
          chargingSchedulePeriod: compositePeriods(schedule),
        },
      };
    });

    handle(link, 'ClearChargingProfile', ({ chargingProfileId, chargingProfileCriteria }) => {
      const criteria: Parameters<SimulatorCore['clearProfiles']>[0] = {};
      if (chargingProfileId !== undefined) criteria.id = chargingProfileId;
      if (chargingProfileCriteria?.evseId !== undefined) criteria.evseId = chargingProfileCriteria.evseId;
      if (chargingProfileCriteria?.chargingProfilePurpose !== undefined) {
        criteria.purpose = PURPOSE_OF[chargingProfileCriteria.chargingProfilePurpose];
      }
      if (chargingProfileCriteria?.stackLevel !== undefined) criteria.stackLevel = chargingProfileCriteria.stackLevel;
      return { status: core.clearProfiles(criteria) > 0 ? 'Accepted' : 'Unknown' };
    });

    handle(link, 'RequestStartTransaction', ({ evseId, idToken, remoteStartId, chargingProfile }) => {
      if (evseId !== undefined && evseId <= 0) return { status: 'Rejected' };
      let profile: ChargingProfileSpec | undefined;
      try {
        profile = chargingProfile ? fromV201Profile(chargingProfile) : undefined;
      } catch (error) {
        return { status: 'Rejected', statusInfo: statusInfo('InvalidProfile', String(error)) };
      }
      const request: Parameters<SimulatorCore['remoteStart']>[0] = { idTag: idToken.idToken, remoteStartId };
      if (evseId !== undefined) request.evseId = evseId;
      if (profile) request.profile = profile;
      return { status: core.remoteStart(request) };
    });

    handle(link, 'RequestStopTransaction', ({ transactionId }) => ({ status: core.remoteStop(transactionId) }));

    handle(link, 'Reset', ({ type, evseId }) => {
      // Resetting a single EVSE is not simulated.
      if (evseId !== undefined) return { status: 'Rejected', statusInfo: statusInfo('UnsupportedRequest') };
      return { status: core.reset(type) };
    });

    handle(link, 'ChangeAvailability', ({ evse, operationalStatus }) => ({
      status: core.changeAvailability(evse?.id ?? 0, operationalStatus === 'Operative'),
    }));

    handle(link, 'GetVariables', ({ getVariableData }) => ({
      getVariableResult: getVariableData.map((item): V201.GetVariableResultType => {
        const result: V201.GetVariableResultType = {
          attributeStatus: 'Accepted',
          component: item.component,
          variable: item.variable,
        };
        if (item.attributeType !== undefined) result.attributeType = item.attributeType;
        if (item.attributeType !== undefined && item.attributeType !== 'Actual') {
          result.attributeStatus = 'NotSupportedAttributeType';
          return result;
        }
        const read = core.settings.read(keyOf(item.component, item.variable));
        if (read.status === 'Unknown') result.attributeStatus = unknownOf(item.component);
        else if (read.status === 'WriteOnly') result.attributeStatus = 'Rejected';
        else result.attributeValue = read.value;
        return result;
      }),
    }));

    handle(link, 'SetVariables', ({ setVariableData }) => ({
      setVariableResult: setVariableData.map((item): V201.SetVariableResultType => {
        const result: V201.SetVariableResultType = {
          attributeStatus: 'Accepted',
          component: item.component,
          variable: item.variable,
        };
        if (item.attributeType !== undefined) result.attributeType = item.attributeType;
        if (item.attributeType !== undefined && item.attributeType !== 'Actual') {
          result.attributeStatus = 'NotSupportedAttributeType';
          return result;
        }
        const key = keyOf(item.component, item.variable);
        const outcome = core.settings.write(key, item.attributeValue);
        result.attributeStatus = outcome === 'Unknown' ? unknownOf(item.component) : outcome;
        return result;
      }),
    }));

    handle(link, 'TriggerMessage', ({ requestedMessage, evse }) => {
      const evseId = evse?.id;
      if (evseId !== undefined && (evseId < 0 || evseId > core.evseCount)) return { status: 'Rejected' };
      switch (requestedMessage) {
        case 'BootNotification':
          // F06.FR.17: a station whose boot was accepted rejects a triggered BootNotification.
          if (core.isRegistered) return { status: 'Rejected' };
          core.later(() => core.sendBoot('Triggered'));
          return { status: 'Accepted' };
        case 'Heartbeat':
          core.later(() => core.sendHeartbeat());
          return { status: 'Accepted' };
        case 'StatusNotification':
          core.later(() => core.sendStatus(evseId));
          return { status: 'Accepted' };
        case 'MeterValues':
        case 'TransactionEvent': {
          if (requestedMessage === 'TransactionEvent') {
            const ids = evseId !== undefined ? [evseId] : Array.from({ length: core.evseCount }, (_, i) => i + 1);
            if (!ids.some((id) => id > 0 && core.activeSession(id) !== undefined)) return { status: 'Rejected' };
          }
          core.later(() => core.sendMeterValues(evseId, 'Trigger'));
          return { status: 'Accepted' };
        }
        default:
          return { status: 'NotImplemented' };
      }
    });
  };

  return {
    heartbeatKey: 'OCPPCommCtrlr.HeartbeatInterval',
    attemptsKey: 'OCPPCommCtrlr.MessageAttempts',
    retryIntervalKey: 'OCPPCommCtrlr.MessageAttemptInterval',
    settings,
    register,

    bootParams: (reason): V201.BootNotificationRequest => ({
      reason,
      chargingStation: {
        vendorName: 'Gridseam',
        model: 'SimCharger',
        serialNumber: core.serialNumber.slice(0, 25),
        firmwareVersion: core.firmwareVersion.slice(0, 50),
      },
    }),

    statusEntries(evseId: number, status: EvseStatus, force = false): OutboxEntry[] {
      if (evseId === 0) return [];
      const wire = connectorStatusOf(status);
      if (!force && lastStatus.get(evseId) === wire) return [];
      lastStatus.set(evseId, wire);
      const params: V201.StatusNotificationRequest = {
        timestamp: iso(core.now()),
        connectorStatus: wire,
        evseId,
        connectorId: 1,
      };
      return [{ action: 'StatusNotification', durable: false, build: () => params }];
    },

    startEntry(session: SessionState, sample: MeterSample, trigger: 'Local' | 'Remote'): OutboxEntry {
      return transactionEvent(session, {
        eventType: 'Started',
        timestamp: iso(session.startedAt),
        triggerReason: trigger === 'Remote' ? 'RemoteStart' : 'CablePluggedIn',
        transactionInfo: transactionInfo(session, sample.currentA > 0 ? 'Charging' : 'EVConnected'),
        evse: { id: session.evseId, connectorId: 1 },
        idToken: { idToken: session.idTag.slice(0, 36), type: trigger === 'Remote' ? 'Central' : 'ISO14443' },
        meterValue: [meterValue(sample, 'Transaction.Begin')],
      });
    },

    meterEntry(session: SessionState | undefined, sample: MeterSample, context: MeterContext): OutboxEntry {
      if (!session) {
        const params: V201.MeterValuesRequest = { evseId: sample.evseId, meterValue: [meterValue(sample, context)] };
        return { action: 'MeterValues', durable: false, build: () => params };
      }
      return transactionEvent(session, {
        eventType: 'Updated',
        timestamp: iso(sample.timestamp),
        triggerReason: context === 'Trigger' ? 'Trigger' : 'MeterValuePeriodic',
        transactionInfo: transactionInfo(session, sample.currentA > 0 ? 'Charging' : 'SuspendedEVSE'),
        meterValue: [meterValue(sample, context)],
      });
    },

    stopEntry(session: SessionState, sample: MeterSample): OutboxEntry {
      const cause = session.stopCause ?? 'EVDisconnected';
      const info = transactionInfo(session, cause === 'EVDisconnected' ? 'Idle' : 'EVConnected');
      info.stoppedReason = STOPPED_REASON[cause];
      info.timeSpentCharging = Math.round(session.chargingS);
      return transactionEvent(session, {
        eventType: 'Ended',
        timestamp: iso(session.endedAt ?? sample.timestamp),
        triggerReason: ENDED_TRIGGER[cause],
        transactionInfo: info,
        meterValue: [meterValue(sample, 'Transaction.End')],
      });
    },
  };
}
