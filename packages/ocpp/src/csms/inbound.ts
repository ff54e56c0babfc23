/**
 * What the inbound handlers of both versions share: the per-connection context they run in, and
 * `onCall`, which registers one handler with the boot gate and error containment.
 *
 * Boot gate: until the station's BootNotification has been Accepted, any other CALL is answered
 * with CALLERROR SecurityError (OCPP 2.0.1 B02.FR.09 for Pending and B03 for Rejected; applied to
 * 1.6 the same way: §4.2 lets a station send nothing else before it is accepted).
 */
import type { Reading } from '@gridseam/model';
import type { ChargingSession, CsmsLog, EvseStatus, StationInfo } from '../contract.ts';
import type { StationLink } from './link.ts';
import { isRpcError, rpcError } from './rpc.ts';
import type { SessionBook } from './sessions.ts';
import type { StationRecord, StationRegistry } from './stations.ts';

export type BootAnswer = 'Accepted' | 'Pending' | 'Rejected';
export type AuthorizeAnswer = 'Accepted' | 'Blocked' | 'Invalid' | 'Expired';

/** The CSMS's events, wrapped so that a throwing listener cannot break a handler. */
export interface InboundEvents {
  booted(station: StationInfo): void;
  status(identity: string, evseId: number, status: EvseStatus, at: number): void;
  readings(identity: string, readings: Reading[]): void;
  session(session: ChargingSession): void;
}

export interface InboundContext {
  readonly identity: string;
  readonly record: StationRecord;
  readonly link: StationLink;
  readonly registry: StationRegistry;
  readonly sessions: SessionBook;
  readonly events: InboundEvents;
  readonly log: CsmsLog;
  readonly heartbeatIntervalS: number;
  readonly bootRetryIntervalS: number;
  now(): number;
  /** Asks the authority, records the answer, emits `booted` and schedules the post-boot work. */
  boot(info: StationInfo): Promise<BootAnswer>;
  /** Called for every CALL the station sends, before its handler. */
  activity(action: string): void;
  /** The authority's answer for an id token (Accepted when it has no opinion). */
  authorize(idTag: string): Promise<AuthorizeAnswer>;
}

/** Epoch ms of a date-time the schema already checked; `fallback` if it still does not parse. */
export function timeOf(iso: string | undefined, fallback: number): number {
  if (iso === undefined) return fallback;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}

export function isoNow(ctx: InboundContext): string {
  return new Date(ctx.now()).toISOString();
}

/**
 * Registers a handler for `action`. Params reach it schema-validated (ocpp-rpc strict mode checks
 * them before any handler runs). Errors that are not RPC errors are logged and answered with
 * InternalError, never thrown further.
 */
export function onCall<P, R>(
  ctx: InboundContext,
  action: string,
  handler: (params: P) => R | Promise<R>,
  gated = true,
): void {
  ctx.link.handle(action, async (call) => {
    ctx.record.lastSeen = ctx.now();
    ctx.activity(action);
    if (gated && ctx.record.boot !== 'Accepted') {
      throw rpcError('SecurityError', `${action} before BootNotification was accepted`);
    }
    try {
      return await handler(call.params as P);
    } catch (error) {
      if (isRpcError(error)) throw error;
      ctx.log.warn('OCPP handler failed', { identity: ctx.identity, action, error: String(error) });
      throw rpcError('InternalError', `${action} could not be processed`);
    }
  });
}

/** Actions a station may send that this CSMS does not act on: answered NotSupported (not NotImplemented). */
export function refuseCalls(ctx: InboundContext, actions: readonly string[]): void {
  for (const action of actions) {
    onCall(
      ctx,
      action,
      () => {
        throw rpcError('NotSupported', `${action} is not supported by this CSMS`);
      },
      false,
    );
  }
}
