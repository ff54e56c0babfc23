/**
 * OCPP 2.0.1: the CALLs a charging station sends to the CSMS, answered and mapped to canonical events.
 *
 * Transactions (E01-E07, E11-E12): one session per station transactionId. Events are applied by
 * seqNo: a repeated or older seqNo (a station re-sending after a lost answer, or queued offline
 * events arriving after newer ones) still yields its meter values as readings but never reopens
 * an ended session or rolls its energy back. `offline: true` events are applied like any other:
 * their own timestamps carry the time.
 */
import type { Reading } from '@gridseam/model';
import { evseStatusOf201, readingsFromMeterValues201, stationInfoFromBoot201 } from '../canonical.ts';
import type * as V201 from '../types/v201.ts';
import { type InboundContext, isoNow, onCall, refuseCalls, timeOf } from './inbound.ts';
import { applySessionReadings, type SessionEntry } from './sessions.ts';

type Req<A extends V201.V201Action> = V201.V201RequestMap[A];
type Res<A extends V201.V201Action> = V201.V201ResponseMap[A];

/** 2.0.1 connector states, as NotifyEvent reports them for Connector.AvailabilityState. */
const CONNECTOR_STATES: ReadonlySet<string> = new Set(['Available', 'Occupied', 'Reserved', 'Unavailable', 'Faulted']);

function emitReadings(ctx: InboundContext, readings: Reading[]): void {
  if (readings.length > 0) ctx.events.readings(ctx.identity, readings);
}

async function idTokenInfo(ctx: InboundContext, token: V201.IdTokenType | undefined): Promise<V201.IdTokenInfoType> {
  // C01: a NoAuthorization token needs no check.
  if (!token || token.type === 'NoAuthorization') return { status: 'Accepted' };
  return { status: await ctx.authorize(token.idToken) };
}

function applyTransactionEvent(ctx: InboundContext, params: Req<'TransactionEvent'>, readings: Reading[]): void {
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
  if (params.eventType === 'Ended' && session.state !== 'ended') {
    session.state = 'ended';
    session.endedAt = at;
    // E06: stoppedReason may be left out when it is Local.
    session.stopReason = params.transactionInfo.stoppedReason ?? 'Local';
    if (session.meterStartWh !== undefined && session.energyWh !== undefined) {
      session.meterStopWh = session.meterStartWh + session.energyWh;
    }
    changed = true;
  }
  if (!stale) entry.lastSeqNo = params.seqNo;
  ctx.sessions.put(ctx.identity, entry);
  if (changed) ctx.events.session({ ...session });
}

export function registerV201Handlers(ctx: InboundContext): void {
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
    ctx.events.status(
      ctx.identity,
      params.evseId,
      evseStatusOf201(params.connectorStatus),
      timeOf(params.timestamp, ctx.now()),
    );
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
        ctx.events.status(
          ctx.identity,
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
    applyTransactionEvent(ctx, params, readings);
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
