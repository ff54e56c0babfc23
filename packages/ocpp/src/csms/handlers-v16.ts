/**
 * OCPP 1.6J: the CALLs a charge point sends to the central system (OCPP 1.6 §4 and the Security
 * Whitepaper ed. 3), answered and mapped to canonical events.
 */
import type { Reading } from '@gridseam/model';
import { evseStatusOf16, readingsFromMeterValues16, stationInfoFromBoot16 } from '../canonical.ts';
import type { ChargingSession } from '../contract.ts';
import type * as V16 from '../types/v16.ts';
import { type InboundContext, isoNow, onCall, refuseCalls, timeOf } from './inbound.ts';
import { applySessionReadings, type SessionEntry } from './sessions.ts';

type Req<A extends V16.V16Action> = V16.V16RequestMap[A];
type Res<A extends V16.V16Action> = V16.V16ResponseMap[A];

function emitReadings(ctx: InboundContext, readings: Reading[]): void {
  if (readings.length > 0) ctx.events.readings(ctx.identity, readings);
}

function emitSession(ctx: InboundContext, entry: SessionEntry): void {
  ctx.sessions.put(ctx.identity, entry);
  ctx.events.session({ ...entry.session });
}

export function registerV16Handlers(ctx: InboundContext): void {
  onCall<Req<'BootNotification'>, Res<'BootNotification'>>(
    ctx,
    'BootNotification',
    async (params) => {
      // §4.2: Accepted -> interval is the heartbeat interval; Pending/Rejected -> the retry interval.
      const status = await ctx.boot(stationInfoFromBoot16(ctx.identity, params));
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
    // §4.9: connectorId 0 is the charge point as a whole.
    ctx.registry.noteEvse(ctx.record, params.connectorId);
    ctx.events.status(
      ctx.identity,
      params.connectorId,
      evseStatusOf16(params.status),
      timeOf(params.timestamp, ctx.now()),
    );
    return {};
  });

  onCall<Req<'MeterValues'>, Res<'MeterValues'>>(ctx, 'MeterValues', (params) => {
    ctx.registry.noteEvse(ctx.record, params.connectorId);
    // Old timestamps (values kept while offline) pass through as they are.
    const readings = readingsFromMeterValues16(ctx.identity, params.meterValue);
    emitReadings(ctx, readings);
    if (params.transactionId !== undefined) {
      const entry = ctx.sessions.get(ctx.identity, String(params.transactionId));
      if (entry && entry.session.state === 'active' && applySessionReadings(entry, readings)) emitSession(ctx, entry);
    }
    return {};
  });

  onCall<Req<'Authorize'>, Res<'Authorize'>>(ctx, 'Authorize', async (params) => ({
    idTagInfo: { status: await ctx.authorize(params.idTag) },
  }));

  onCall<Req<'StartTransaction'>, Res<'StartTransaction'>>(ctx, 'StartTransaction', async (params) => {
    ctx.registry.noteEvse(ctx.record, params.connectorId);
    const status = await ctx.authorize(params.idTag);
    const startedAt = timeOf(params.timestamp, ctx.now());
    // A repeated StartTransaction (its answer was lost) gets the id it was given the first time.
    const repeated = ctx.sessions.findRepeatedStart(ctx.identity, params.connectorId, startedAt, params.meterStart);
    if (repeated) {
      return { transactionId: Number(repeated.session.transactionId), idTagInfo: { status } };
    }
    const transactionId = ctx.sessions.allocateId();
    const session: ChargingSession = {
      transactionId: String(transactionId),
      identity: ctx.identity,
      evseId: params.connectorId,
      idTag: params.idTag,
      startedAt,
      meterStartWh: params.meterStart,
      energyWh: 0,
      state: 'active',
    };
    emitSession(ctx, { session });
    // StartTransaction.conf: a station told anything but Accepted may end the transaction itself.
    return { transactionId, idTagInfo: { status } };
  });

  onCall<Req<'StopTransaction'>, Res<'StopTransaction'>>(ctx, 'StopTransaction', async (params) => {
    const endedAt = timeOf(params.timestamp, ctx.now());
    const readings = params.transactionData ? readingsFromMeterValues16(ctx.identity, params.transactionData) : [];
    emitReadings(ctx, readings);
    const transactionId = String(params.transactionId);
    let entry = ctx.sessions.get(ctx.identity, transactionId);
    if (!entry) {
      // Unknown here (started before a CSMS restart, or forgotten): recorded from what the stop tells.
      const firstSample = readings.reduce((min, r) => Math.min(min, r.ts), endedAt);
      entry = {
        session: { transactionId, identity: ctx.identity, evseId: 0, startedAt: firstSample, state: 'active' },
      };
      if (params.idTag !== undefined) entry.session.idTag = params.idTag;
    }
    if (entry.session.state !== 'ended') {
      applySessionReadings(entry, readings);
      const session = entry.session;
      session.state = 'ended';
      session.endedAt = endedAt;
      session.meterStopWh = params.meterStop;
      if (session.meterStartWh !== undefined) session.energyWh = Math.max(0, params.meterStop - session.meterStartWh);
      // StopTransaction.req: the reason may be left out only when it is "Local".
      session.stopReason = params.reason ?? 'Local';
      emitSession(ctx, entry);
    }
    if (params.idTag === undefined) return {};
    return { idTagInfo: { status: await ctx.authorize(params.idTag) } };
  });

  onCall<Req<'DataTransfer'>, Res<'DataTransfer'>>(ctx, 'DataTransfer', () => ({ status: 'UnknownVendorId' }));

  onCall<Req<'FirmwareStatusNotification'>, Res<'FirmwareStatusNotification'>>(
    ctx,
    'FirmwareStatusNotification',
    (params) => {
      ctx.log.info?.('firmware status', { identity: ctx.identity, status: params.status });
      return {};
    },
  );

  onCall<Req<'DiagnosticsStatusNotification'>, Res<'DiagnosticsStatusNotification'>>(
    ctx,
    'DiagnosticsStatusNotification',
    (params) => {
      ctx.log.info?.('diagnostics status', { identity: ctx.identity, status: params.status });
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

  onCall<Req<'SignedFirmwareStatusNotification'>, Res<'SignedFirmwareStatusNotification'>>(
    ctx,
    'SignedFirmwareStatusNotification',
    (params) => {
      ctx.log.info?.('firmware status', { identity: ctx.identity, status: params.status });
      return {};
    },
  );

  onCall<Req<'LogStatusNotification'>, Res<'LogStatusNotification'>>(ctx, 'LogStatusNotification', () => ({}));

  // Security Whitepaper SignCertificate: this CSMS has no CA of its own to sign with.
  refuseCalls(ctx, ['SignCertificate']);
}
