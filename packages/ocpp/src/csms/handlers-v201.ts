/**
 * OCPP 2.0.1: the CALLs a charging station sends to the CSMS, answered and mapped to canonical events.
 *
 * Transactions (E01-E07, E11-E12): one session per station transactionId. Events are applied by
 * seqNo: a repeated or older seqNo (a station re-sending after a lost answer, or queued offline
 * events arriving after newer ones) still yields its meter values as readings but never reopens
 * an ended session or rolls its energy back. `offline: true` events are applied like any other:
 * their own timestamps carry the time.
 *
 * EVSE status: a 2.0.1 connector only says Occupied while an EV is plugged in; whether it charges
 * is the transaction's chargingState (Part 2 TransactionType.chargingState, §3.12 ChargingStateEnumType).
 * While a transaction is active on an EVSE, a live event's chargingState becomes the EVSE's status
 * in the vocabulary 1.6 uses for the same situation (1.6 §7.7 ChargePointStatus), and a connector
 * status of Occupied is read through it; any other connector status (Faulted, Unavailable, ...)
 * stands as reported. When the transaction ends, the connector's own status is back in force.
 * Events the station kept while offline (E04 `offline: true`) describe the past and change no status.
 */
import type { Reading } from '@gridseam/model';
import { evseStatusOf201, readingsFromMeterValues201, stationInfoFromBoot201 } from '../canonical.ts';
import type { EvseStatus } from '../contract.ts';
import type * as V201 from '../types/v201.ts';
import { type InboundContext, isoNow, onCall, refuseCalls, timeOf } from './inbound.ts';
import { applySessionReadings, type SessionEntry } from './sessions.ts';
import { MAX_EVSES_PER_STATION } from './stations.ts';

type Req<A extends V201.V201Action> = V201.V201RequestMap[A];
type Res<A extends V201.V201Action> = V201.V201ResponseMap[A];

/** 2.0.1 connector states, as NotifyEvent reports them for Connector.AvailabilityState. */
const CONNECTOR_STATES: ReadonlySet<string> = new Set(['Available', 'Occupied', 'Reserved', 'Unavailable', 'Faulted']);

/**
 * The EVSE status a chargingState stands for while its transaction is active (1.6 §7.7 names):
 * EVConnected (plugged in, no energy transfer yet) and Idle (a transaction opened by an
 * authorization before the cable is in) are both 1.6 Preparing.
 */
const STATUS_OF_CHARGING_STATE: Readonly<Record<V201.ChargingStateEnumType, EvseStatus>> = {
  Charging: 'Charging',
  SuspendedEV: 'SuspendedEV',
  SuspendedEVSE: 'SuspendedEVSE',
  EVConnected: 'Preparing',
  Idle: 'Preparing',
};

/** The EVSE status of a chargingState; undefined for a value outside the enumeration. */
function evseStatusOfChargingState201(state: V201.ChargingStateEnumType): EvseStatus | undefined {
  return Object.hasOwn(STATUS_OF_CHARGING_STATE, state) ? STATUS_OF_CHARGING_STATE[state] : undefined;
}

/**
 * Per connection: the connector status each EVSE last reported and the status last emitted for
 * it, so that a transaction's chargingState and the connector's status combine into one EVSE status.
 */
class EvseStatusBook {
  private readonly reported = new Map<number, EvseStatus>();
  private readonly emitted = new Map<number, EvseStatus>();

  constructor(private readonly ctx: InboundContext) {}

  /** A StatusNotification or AvailabilityState event for `evseId`. */
  connector(evseId: number, status: EvseStatus, at: number): void {
    // Bounded like the station's EVSE list: a station naming more EVSEs is not believed.
    if (this.reported.has(evseId) || this.reported.size < MAX_EVSES_PER_STATION) this.reported.set(evseId, status);
    this.emit(evseId, this.effective(evseId, status), at, true);
  }

  /** A transaction on `evseId` changed its chargingState or ended. */
  transaction(evseId: number, at: number): void {
    const status = this.effective(evseId, this.reported.get(evseId));
    if (status !== undefined) this.emit(evseId, status, at, false);
  }

  private effective(evseId: number, connector: EvseStatus | undefined): EvseStatus | undefined {
    if (connector !== undefined && connector !== 'Occupied') return connector;
    const charging = this.ctx.sessions.activeOn(this.ctx.identity, evseId)?.chargingStatus;
    // A transaction that ended on an EVSE that never reported its connector: the EV may still be in.
    return charging ?? connector ?? (this.emitted.has(evseId) ? 'Occupied' : undefined);
  }

  private emit(evseId: number, status: EvseStatus | undefined, at: number, always: boolean): void {
    if (status === undefined || (!always && this.emitted.get(evseId) === status)) return;
    if (this.emitted.has(evseId) || this.emitted.size < MAX_EVSES_PER_STATION) this.emitted.set(evseId, status);
    this.ctx.events.status(this.ctx.identity, evseId, status, at);
  }
}

function emitReadings(ctx: InboundContext, readings: Reading[]): void {
  if (readings.length > 0) ctx.events.readings(ctx.identity, readings);
}

async function idTokenInfo(ctx: InboundContext, token: V201.IdTokenType | undefined): Promise<V201.IdTokenInfoType> {
  // C01: a NoAuthorization token needs no check.
  if (!token || token.type === 'NoAuthorization') return { status: 'Accepted' };
  return { status: await ctx.authorize(token.idToken) };
}

function applyTransactionEvent(
  ctx: InboundContext,
  params: Req<'TransactionEvent'>,
  readings: Reading[],
  statuses: EvseStatusBook,
): void {
  const at = timeOf(params.timestamp, ctx.now());
  const transactionId = params.transactionInfo.transactionId;
  const evseId = params.evse?.id;
  if (evseId !== undefined) ctx.registry.noteEvse(ctx.record, evseId);
  let entry: SessionEntry | undefined = ctx.sessions.get(ctx.identity, transactionId);
  let changed = false;
  if (!entry) {
    // Usually eventType Started; an Updated/Ended first means the Started was lost or sent before a CSMS restart.
    entry = {
      session: { transactionId, identity: ctx.identity, evseId: evseId ?? 0, startedAt: at, state: 'active' },
    };
    changed = true;
  }
  const session = entry.session;
  const stale = entry.lastSeqNo !== undefined && params.seqNo <= entry.lastSeqNo;
  if (params.eventType === 'Started' && at < session.startedAt) {
    session.startedAt = at;
    changed = true;
  }
  if (evseId !== undefined && evseId > 0 && session.evseId !== evseId) {
    session.evseId = evseId;
    changed = true;
  }
  const token = params.idToken;
  if (token && token.type !== 'NoAuthorization' && session.idTag === undefined) {
    session.idTag = token.idToken;
    changed = true;
  }
  if (!stale || session.state === 'active') {
    if (applySessionReadings(entry, readings)) changed = true;
  }
  let endedNow = false;
  if (params.eventType === 'Ended' && session.state !== 'ended') {
    endedNow = true;
    session.state = 'ended';
    session.endedAt = at;
    // E06: stoppedReason may be left out when it is Local.
    session.stopReason = params.transactionInfo.stoppedReason ?? 'Local';
    if (session.meterStartWh !== undefined && session.energyWh !== undefined) {
      session.meterStopWh = session.meterStartWh + session.energyWh;
    }
    changed = true;
  }
  const chargingStatusBefore = entry.chargingStatus;
  const chargingState = params.transactionInfo.chargingState;
  if (session.state === 'active' && !stale && params.offline !== true && chargingState !== undefined) {
    entry.chargingStatus = evseStatusOfChargingState201(chargingState) ?? entry.chargingStatus;
  }
  if (!stale) entry.lastSeqNo = params.seqNo;
  ctx.sessions.put(ctx.identity, entry);
  if (changed) ctx.events.session({ ...session });
  // EVSE 0 is the station as a whole: a transaction whose EVSE is not known yet has no EVSE status.
  if (session.evseId > 0 && (endedNow || entry.chargingStatus !== chargingStatusBefore)) {
    statuses.transaction(session.evseId, at);
  }
}

export function registerV201Handlers(ctx: InboundContext): void {
  const statuses = new EvseStatusBook(ctx);
  onCall<Req<'BootNotification'>, Res<'BootNotification'>>(
    ctx,
    'BootNotification',
    async (params) => {
      // B01-B03: interval is the heartbeat interval when Accepted, the retry interval otherwise.
      const status = await ctx.boot(stationInfoFromBoot201(ctx.identity, params));
      return {
        status,
        currentTime: isoNow(ctx),
        interval: status === 'Accepted' ? ctx.heartbeatIntervalS : ctx.bootRetryIntervalS,
      };
    },
    false,
  );

  onCall<Req<'Heartbeat'>, Res<'Heartbeat'>>(ctx, 'Heartbeat', () => ({ currentTime: isoNow(ctx) }));

  onCall<Req<'StatusNotification'>, Res<'StatusNotification'>>(ctx, 'StatusNotification', (params) => {
    ctx.registry.noteEvse(ctx.record, params.evseId);
    statuses.connector(params.evseId, evseStatusOf201(params.connectorStatus), timeOf(params.timestamp, ctx.now()));
    return {};
  });

  onCall<Req<'NotifyEvent'>, Res<'NotifyEvent'>>(ctx, 'NotifyEvent', (params) => {
    // G01 allows connector status as a Connector.AvailabilityState event instead of StatusNotification.
    for (const event of params.eventData) {
      const evseId = event.component.evse?.id;
      if (
        event.component.name === 'Connector' &&
        event.variable.name === 'AvailabilityState' &&
        evseId !== undefined &&
        CONNECTOR_STATES.has(event.actualValue)
      ) {
        ctx.registry.noteEvse(ctx.record, evseId);
        statuses.connector(
          evseId,
          evseStatusOf201(event.actualValue as V201.ConnectorStatusEnumType),
          timeOf(event.timestamp, ctx.now()),
        );
      }
    }
    return {};
  });

  onCall<Req<'MeterValues'>, Res<'MeterValues'>>(ctx, 'MeterValues', (params) => {
    ctx.registry.noteEvse(ctx.record, params.evseId);
    emitReadings(ctx, readingsFromMeterValues201(ctx.identity, params.meterValue));
    return {};
  });

  onCall<Req<'TransactionEvent'>, Res<'TransactionEvent'>>(ctx, 'TransactionEvent', async (params) => {
    const readings = params.meterValue ? readingsFromMeterValues201(ctx.identity, params.meterValue) : [];
    emitReadings(ctx, readings);
    applyTransactionEvent(ctx, params, readings, statuses);
    // E01/E03: idTokenInfo answers an event that carries an idToken.
    return params.idToken ? { idTokenInfo: await idTokenInfo(ctx, params.idToken) } : {};
  });

  onCall<Req<'Authorize'>, Res<'Authorize'>>(ctx, 'Authorize', async (params) => ({
    idTokenInfo: await idTokenInfo(ctx, params.idToken),
  }));

  onCall<Req<'NotifyReport'>, Res<'NotifyReport'>>(ctx, 'NotifyReport', (params) => {
    // B07/B08 reports: the EVSE components tell which EVSEs exist.
    for (const data of params.reportData ?? []) {
      const evseId = data.component.evse?.id;
      if (evseId !== undefined) ctx.registry.noteEvse(ctx.record, evseId);
    }
    return {};
  });

  onCall<Req<'FirmwareStatusNotification'>, Res<'FirmwareStatusNotification'>>(
    ctx,
    'FirmwareStatusNotification',
    (params) => {
      ctx.log.info?.('firmware status', { identity: ctx.identity, status: params.status });
      return {};
    },
  );

  onCall<Req<'SecurityEventNotification'>, Res<'SecurityEventNotification'>>(
    ctx,
    'SecurityEventNotification',
    (params) => {
      ctx.log.warn('security event', { identity: ctx.identity, type: params.type, at: params.timestamp });
      return {};
    },
  );

  onCall<Req<'ReportChargingProfiles'>, Res<'ReportChargingProfiles'>>(ctx, 'ReportChargingProfiles', (params) => {
    ctx.log.info?.('charging profiles reported', {
      identity: ctx.identity,
      evseId: params.evseId,
      source: params.chargingLimitSource,
      count: params.chargingProfile.length,
    });
    return {};
  });

  onCall<Req<'NotifyChargingLimit'>, Res<'NotifyChargingLimit'>>(ctx, 'NotifyChargingLimit', (params) => {
    // K12: an external system (e.g. a local EMS or the system operator) limits the station.
    ctx.log.info?.('external charging limit', {
      identity: ctx.identity,
      evseId: params.evseId,
      source: params.chargingLimit.chargingLimitSource,
      gridCritical: params.chargingLimit.isGridCritical,
    });
    return {};
  });

  onCall<Req<'ClearedChargingLimit'>, Res<'ClearedChargingLimit'>>(ctx, 'ClearedChargingLimit', () => ({}));
  onCall<Req<'DataTransfer'>, Res<'DataTransfer'>>(ctx, 'DataTransfer', () => ({ status: 'UnknownVendorId' }));
  onCall<Req<'LogStatusNotification'>, Res<'LogStatusNotification'>>(ctx, 'LogStatusNotification', () => ({}));
  onCall<Req<'NotifyMonitoringReport'>, Res<'NotifyMonitoringReport'>>(ctx, 'NotifyMonitoringReport', () => ({}));
  onCall<Req<'NotifyCustomerInformation'>, Res<'NotifyCustomerInformation'>>(
    ctx,
    'NotifyCustomerInformation',
    () => ({}),
  );
  onCall<Req<'NotifyDisplayMessages'>, Res<'NotifyDisplayMessages'>>(ctx, 'NotifyDisplayMessages', () => ({}));
  onCall<Req<'PublishFirmwareStatusNotification'>, Res<'PublishFirmwareStatusNotification'>>(
    ctx,
    'PublishFirmwareStatusNotification',
    () => ({}),
  );
  onCall<Req<'ReservationStatusUpdate'>, Res<'ReservationStatusUpdate'>>(ctx, 'ReservationStatusUpdate', () => ({}));

  // Certificates and ISO 15118 charging needs: not provided by this CSMS.
  refuseCalls(ctx, [
    'SignCertificate',
    'Get15118EVCertificate',
    'GetCertificateStatus',
    'NotifyEVChargingNeeds',
    'NotifyEVChargingSchedule',
  ]);
}
