/**
 * The CSMS (issue 6): OCPP-J 1.6 and 2.0.1 stations over WebSocket, on ocpp-rpc's RPCServer with
 * strict schema validation in both directions, behind our own HTTP(S) listener so that TLS and the
 * security profiles are ours (transport.ts).
 *
 * Decisions:
 * - Subprotocol: the first of ['ocpp2.0.1', 'ocpp1.6'] (restricted to `versions`) that the station
 *   offers; a station offering none is refused with 400 before the WebSocket opens.
 * - A second connection for an identity that is already connected replaces the first (the first is
 *   closed with 1000 "replaced"): a station that lost its link without a FIN reconnects before the
 *   server notices the dead socket, and refusing it would lock it out until the ping timeout. Only
 *   an authenticated connection can replace one. `disconnected` is not emitted for the replaced
 *   connection; `connected` is emitted again for the new one.
 * - The BootNotification answer is remembered across reconnects; until it is Accepted, other CALLs
 *   are answered with SecurityError (inbound.ts). A station that connects without an accepted boot
 *   on record gets TriggerMessage(BootNotification) after `bootTriggerDelayMs`.
 * - Commands go to stations that are connected and accepted (getSettings/setSettings also while
 *   Pending, which exists for configuration: 1.6 §4.2, 2.0.1 B02). Otherwise, with `queueUntil`, a
 *   command waits for the station (queue.ts) and runs after its accepted boot or, when the boot is
 *   already on record, once the reconnected station has shown it did not reboot (its first CALL
 *   other than BootNotification, or `reconnectGraceMs` of silence); without it the command fails
 *   at once with GW_ERR_DEVICE_UNREACHABLE.
 * - Hostile input: frames above `maxPayloadBytes` close the socket (1009); non-JSON, wrong message
 *   types and unknown actions get CALLERRORs from ocpp-rpc; schema-invalid CALLs get a CALLERROR
 *   before any handler runs; after 10 bad frames in a row the socket is closed (1002). Stations,
 *   sessions, EVSEs and queued commands are bounded.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { GridseamError, type Reading } from '@gridseam/model';
import {
  type ChargingLimit,
  type ChargingRateUnit,
  type ChargingSession,
  type CommandOptions,
  type CompositeSchedule,
  type Csms,
  type CsmsEvents,
  type CsmsLog,
  type CsmsOptions,
  type ElectricalFacts,
  type EvseStatus,
  type LimitOutcome,
  OCPP_VERSIONS,
  type OcppVersion,
  type StationInfo,
  SUBPROTOCOL_OF,
} from '../contract.ts';
import { type CommandContext, type StationCommands, V16_COMMANDS, V201_COMMANDS } from './commands.ts';
import { registerV16Handlers } from './handlers-v16.ts';
import { registerV201Handlers } from './handlers-v201.ts';
import type { AuthorizeAnswer, BootAnswer, InboundContext, InboundEvents } from './inbound.ts';
import {
  checkEvseId,
  checkLimit,
  compositeLimitAt,
  LIMIT_PURPOSES,
  limitProfile,
  limitPurpose,
  READ_BACK_TOLERANCE,
} from './limits.ts';
import { callStation, type StationLink } from './link.ts';
import { OfflineQueue } from './queue.ts';
import { RPCServer, type UpgradeHandshake } from './rpc.ts';
import { SessionBook } from './sessions.ts';
import { type StationRecord, StationRegistry } from './stations.ts';
import {
  checkStationPath,
  createListener,
  isValidIdentity,
  type Listener,
  normalisePath,
  refuseUpgrade,
  verifiedClientCn,
} from './transport.ts';

export const CSMS_DEFAULTS = {
  path: '/ocpp',
  heartbeatIntervalS: 300,
  bootRetryIntervalS: 60,
  bootTriggerDelayMs: 5_000,
  callTimeoutMs: 30_000,
  maxStations: 10_000,
  maxPayloadBytes: 65_536,
  limitStackLevel: 1,
  /** Sessions remembered per station (active and ended). */
  maxSessionsPerStation: 100,
  /** Commands waiting per offline station, and in total. */
  maxQueuedPerStation: 64,
  maxQueuedTotal: 100_000,
  /** Consecutive malformed frames tolerated before the socket is closed (1002). */
  maxBadMessages: 10,
  /**
   * A station that reconnects with an accepted boot on record gets its queued commands after its
   * first CALL other than BootNotification, or after this long if it stays silent (a station that
   * rebooted sends BootNotification first, and its answer decides instead).
   */
  reconnectGraceMs: 1_000,
  /** How long close() waits for stations to answer the WebSocket close before cutting them off. */
  closeGraceMs: 2_000,
} as const;

/** Preference when a station offers both (2.0.1 first). */
const PREFERENCE: readonly OcppVersion[] = ['2.0.1', '1.6'];

/** Facts assumed when a station does not report them (2.0.1 SmartChargingCtrlr defaults). */
const DEFAULT_FACTS: ElectricalFacts = { voltage: 230, phases: 3 };

/** Read-back window beyond the limit's start: long enough for one period, short enough to be cheap. */
const READ_BACK_WINDOW_S = 60;

type CommandKind = 'command' | 'configuration';

const NO_LOG: CsmsLog = { warn() {} };

function versionOfProtocol(protocol: string | undefined): OcppVersion | undefined {
  return OCPP_VERSIONS.find((version) => SUBPROTOCOL_OF[version] === protocol);
}

function unreachable(identity: string, why: string): GridseamError {
  return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `${identity} ${why}`, { details: { identity } });
}

function wholeNumber(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new GridseamError('GW_ERR_CONFIG', `${name} must be a non-negative integer`);
  }
  return value;
}

type AuthDecision =
  | { ok: true; identity: string; version: OcppVersion; protocol: string }
  | { ok: false; status: number; message: string };

export async function createCsms(options: CsmsOptions): Promise<Csms> {
  const csms = new CsmsServer(options);
  await csms.listen();
  return csms;
}

class CsmsServer implements Csms {
  private readonly now: () => number;
  private readonly log: CsmsLog;
  private readonly path: string;
  private readonly protocols: string[];
  private readonly heartbeatIntervalS: number;
  private readonly bootRetryIntervalS: number;
  private readonly bootTriggerDelayMs: number;
  private readonly callTimeoutMs: number;
  private readonly limitStackLevel: number;
  private readonly listener: Listener;
  private readonly rpc: RPCServer;
  private readonly registry: StationRegistry;
  private readonly book: SessionBook;
  private readonly queue: OfflineQueue;
  private readonly events: CsmsEvents & InboundEvents;
  private boundPort = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: CsmsOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? NO_LOG;
    this.path = normalisePath(options.path ?? CSMS_DEFAULTS.path);
    const versions = options.versions ?? [...OCPP_VERSIONS];
    if (versions.length === 0 || versions.some((v) => !OCPP_VERSIONS.includes(v))) {
      throw new GridseamError('GW_ERR_CONFIG', `versions must be a non-empty subset of ${OCPP_VERSIONS.join(', ')}`);
    }
    if (![0, 1, 2, 3].includes(options.securityProfile)) {
      throw new GridseamError('GW_ERR_CONFIG', 'securityProfile must be 0, 1, 2 or 3');
    }
    this.protocols = PREFERENCE.filter((v) => versions.includes(v)).map((v) => SUBPROTOCOL_OF[v]);
    this.heartbeatIntervalS = wholeNumber(
      options.heartbeatIntervalS,
      CSMS_DEFAULTS.heartbeatIntervalS,
      'heartbeatIntervalS',
    );
    this.bootRetryIntervalS = wholeNumber(
      options.bootRetryIntervalS,
      CSMS_DEFAULTS.bootRetryIntervalS,
      'bootRetryIntervalS',
    );
    this.bootTriggerDelayMs = wholeNumber(
      options.bootTriggerDelayMs,
      CSMS_DEFAULTS.bootTriggerDelayMs,
      'bootTriggerDelayMs',
    );
    this.callTimeoutMs = wholeNumber(options.callTimeoutMs, CSMS_DEFAULTS.callTimeoutMs, 'callTimeoutMs');
    this.limitStackLevel = wholeNumber(options.limitStackLevel, CSMS_DEFAULTS.limitStackLevel, 'limitStackLevel');
    const maxStations = wholeNumber(options.maxStations, CSMS_DEFAULTS.maxStations, 'maxStations');
    const maxPayload = wholeNumber(options.maxPayloadBytes, CSMS_DEFAULTS.maxPayloadBytes, 'maxPayloadBytes');
    if (options.meterIntervalS !== undefined) wholeNumber(options.meterIntervalS, 0, 'meterIntervalS');

    this.events = guardedEvents(options.events, this.log);
    this.book = new SessionBook(CSMS_DEFAULTS.maxSessionsPerStation, this.now());
    this.registry = new StationRegistry(Math.max(1, maxStations), (identity) => this.book.drop(identity));
    this.queue = new OfflineQueue(this.now, CSMS_DEFAULTS.maxQueuedPerStation, CSMS_DEFAULTS.maxQueuedTotal);

    this.listener = createListener(options.securityProfile, options.tls);
    this.rpc = new RPCServer({
      protocols: this.protocols,
      strictMode: true,
      callTimeoutMs: this.callTimeoutMs,
      maxBadMessages: CSMS_DEFAULTS.maxBadMessages,
      respondWithDetailedErrors: false,
      // No compression: a small compressed frame must not inflate past maxPayload unchecked.
      wssOptions: { maxPayload, perMessageDeflate: false },
    });
    this.rpc.on('error', (error: unknown) => this.log.warn('OCPP WebSocket server error', { error: String(error) }));
    this.rpc.auth((accept, reject, handshake) => {
      this.decide(handshake as unknown as UpgradeHandshake).then(
        (decision) => {
          if (decision.ok) accept({ identity: decision.identity, version: decision.version }, decision.protocol);
          else reject(decision.status, decision.message);
        },
        (error: unknown) => {
          this.log.warn('station authentication failed', { error: String(error) });
          reject(500, 'authentication failed');
        },
      );
    });
    this.rpc.on('client', (client: unknown) => this.attach(client as StationLink));
    this.listener.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head);
    });
    // TLS handshake failures (profile 3 without a valid certificate) end there; nothing to do.
    this.listener.on('tlsClientError', () => {});
    // Malformed HTTP: 400 and close (what Node does without a listener, minus its log noise).
    this.listener.on('clientError', (_error: Error, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.listener.once('error', onError);
      this.listener.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        this.listener.off('error', onError);
        resolve();
      });
    });
    this.listener.on('error', (error) => this.log.warn('OCPP listener error', { error: String(error) }));
    this.boundPort = (this.listener.address() as AddressInfo).port;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The bound origin as the contract defines it (no path): stations connect to `${url}${path}/${identity}`. */
  get url(): string {
    const scheme = this.options.securityProfile >= 2 ? 'wss' : 'ws';
    const host = this.options.host ?? '127.0.0.1';
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return `${scheme}://${shownHost}:${this.boundPort}`;
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.closing) {
      refuseUpgrade(socket, 503, 'shutting down');
      return;
    }
    // Checked before ocpp-rpc sees the request: it decodes the identity outside its own try/catch.
    const path = checkStationPath(request.url ?? '/', this.path);
    if (!path.ok) {
      refuseUpgrade(socket, path.status, path.message);
      return;
    }
    this.rpc.handleUpgrade(request, socket as import('node:net').Socket, head).catch(() => socket.destroy());
  }

  private async decide(handshake: UpgradeHandshake): Promise<AuthDecision> {
    const identity = handshake.identity;
    if (handshake.endpoint !== this.path) return { ok: false, status: 404, message: 'not an OCPP endpoint' };
    if (!isValidIdentity(identity)) return { ok: false, status: 400, message: 'invalid station identity' };
    const protocol = this.protocols.find((p) => handshake.protocols.has(p));
    const version = versionOfProtocol(protocol);
    if (!protocol || !version) return { ok: false, status: 400, message: 'no supported OCPP subprotocol offered' };
    const profile = this.options.securityProfile;
    let password: Buffer | undefined;
    let certificateCn: string | undefined;
    if (profile === 3) {
      certificateCn = verifiedClientCn(handshake.request);
      if (certificateCn !== identity)
        return { ok: false, status: 401, message: 'certificate does not name this station' };
    } else if (profile === 1 || profile === 2) {
      // ocpp-rpc gives the password only when the Basic username equals the identity.
      password = handshake.password;
      if (password === undefined) return { ok: false, status: 401, message: 'credentials required' };
    }
    if (!this.registry.get(identity)?.link && this.registry.connectedCount() >= this.registry.maxStations) {
      return { ok: false, status: 503, message: 'station limit reached' };
    }
    const known = await this.options.authority.authenticate(identity, password, certificateCn);
    if (known !== true) return { ok: false, status: 401, message: 'unknown station or wrong credentials' };
    return { ok: true, identity, version, protocol };
  }

  private attach(link: StationLink): void {
    const version = versionOfProtocol(link.protocol);
    if (!version || this.closing) {
      void link.close({ code: 1001, reason: 'not accepted' }).catch(() => {});
      return;
    }
    const identity = link.identity;
    const record = this.registry.connect(identity, version, this.now());
    const previous = record.link;
    this.registry.setLink(record, link);
    record.bootSeen = false;
    this.clearTimers(record);
    if (previous && previous !== link) {
      void previous.close({ code: 1000, reason: 'replaced by a newer connection' }).catch(() => {});
    }
    link.on('close', () => this.detach(record, link));
    link.on('badMessage', (event) =>
      this.log.warn('malformed OCPP frame', { identity, error: String(event.error?.message ?? event.error) }),
    );
    link.on('strictValidationFailure', (event) => {
      if (!event.outbound && event.isCall) {
        this.log.warn('schema-invalid CALL refused', { identity, action: event.method, error: event.error.message });
      }
    });
    const ctx = this.inboundContext(record, link);
    if (version === '1.6') registerV16Handlers(ctx);
    else registerV201Handlers(ctx);
    this.events.connected(identity, version);
    if (record.boot === 'Accepted') this.armReconnectFlush(record, link);
    else this.armBootTrigger(record, link);
  }

  private detach(record: StationRecord, link: StationLink): void {
    if (record.link !== link) return;
    this.registry.setLink(record, undefined);
    record.lastSeen = this.now();
    this.clearTimers(record);
    this.events.disconnected(record.identity);
  }

  private armReconnectFlush(record: StationRecord, link: StationLink): void {
    record.flushTimer = setTimeout(() => {
      record.flushTimer = undefined;
      if (record.link === link && !record.bootSeen) void this.flush(record);
    }, CSMS_DEFAULTS.reconnectGraceMs);
    record.flushTimer.unref();
  }

  private activity(record: StationRecord, link: StationLink, action: string): void {
    if (!record.flushTimer || record.link !== link) return;
    clearTimeout(record.flushTimer);
    record.flushTimer = undefined;
    // A BootNotification means a reboot: its answer decides (boot()); anything else means "still accepted".
    if (action !== 'BootNotification') setImmediate(() => void this.flush(record));
  }

  private clearTimers(record: StationRecord): void {
    if (record.bootTrigger) clearTimeout(record.bootTrigger);
    if (record.flushTimer) clearTimeout(record.flushTimer);
    record.bootTrigger = undefined;
    record.flushTimer = undefined;
  }

  private armBootTrigger(record: StationRecord, link: StationLink): void {
    if (this.bootTriggerDelayMs === 0 || record.boot === 'Rejected') return;
    record.bootTrigger = setTimeout(() => {
      record.bootTrigger = undefined;
      if (record.link !== link || record.bootSeen || record.boot === 'Accepted') return;
      // 1.6 §5.17 / 2.0.1 F06: TriggerMessage is allowed before an accepted boot.
      this.commandsOf(record)
        .triggerBoot(this.commandContext(record, link, undefined))
        .catch((error: unknown) =>
          this.log.warn('TriggerMessage(BootNotification) failed', { identity: record.identity, error: String(error) }),
        );
    }, this.bootTriggerDelayMs);
    record.bootTrigger.unref();
  }

  private inboundContext(record: StationRecord, link: StationLink): InboundContext {
    return {
      identity: record.identity,
      record,
      link,
      registry: this.registry,
      sessions: this.book,
      events: this.events,
      log: this.log,
      heartbeatIntervalS: this.heartbeatIntervalS,
      bootRetryIntervalS: this.bootRetryIntervalS,
      now: this.now,
      boot: (info) => this.boot(record, link, info),
      activity: (action) => this.activity(record, link, action),
      authorize: (idTag) => this.authorize(record.identity, idTag),
    };
  }

  private async boot(record: StationRecord, link: StationLink, info: StationInfo): Promise<BootAnswer> {
    record.bootSeen = true;
    this.clearTimers(record);
    record.info = info;
    for (const evse of info.evses) this.registry.noteEvse(record, evse.evseId);
    let status: BootAnswer;
    try {
      status = await this.options.authority.boot(this.registry.info(record) ?? info);
    } catch (error) {
      // The station retries after the interval; a registry hiccup must not reject it for good.
      this.log.warn('authority.boot failed; answering Pending', { identity: record.identity, error: String(error) });
      status = 'Pending';
    }
    if (record.link !== link) return status;
    record.boot = status;
    if (status === 'Accepted') {
      const station = this.registry.info(record);
      if (station) this.events.booted(station);
      // After the answer has gone out (ocpp-rpc sends it once this handler's promise settles).
      setImmediate(() => void this.afterAccepted(record, link));
    }
    return status;
  }

  private async afterAccepted(record: StationRecord, link: StationLink): Promise<void> {
    const interval = this.options.meterIntervalS;
    if (interval !== undefined && interval > 0 && record.link === link) {
      try {
        await this.commandsOf(record).setMeterInterval(this.commandContext(record, link, undefined), interval);
      } catch (error) {
        this.log.warn('could not set the meter value interval', { identity: record.identity, error: String(error) });
      }
    }
    await this.flush(record);
  }

  private async authorize(identity: string, idTag: string): Promise<AuthorizeAnswer> {
    if (!this.options.authority.authorize) return 'Accepted';
    try {
      return await this.options.authority.authorize(identity, idTag);
    } catch (error) {
      this.log.warn('authority.authorize failed; answering Invalid', { identity, error: String(error) });
      return 'Invalid';
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  private commandsOf(record: StationRecord): StationCommands {
    return record.version === '1.6' ? V16_COMMANDS : V201_COMMANDS;
  }

  private commandContext(record: StationRecord, link: StationLink, timeoutMs: number | undefined): CommandContext {
    return {
      identity: record.identity,
      record,
      now: this.now,
      call: <T>(action: string, params: object) => callStation<T>(link, action, params, timeoutMs),
    };
  }

  private ready(record: StationRecord | undefined, kind: CommandKind): record is StationRecord & { link: StationLink } {
    if (!record?.link) return false;
    return record.boot === 'Accepted' || (kind === 'configuration' && record.boot === 'Pending');
  }

  private notReady(identity: string, record: StationRecord | undefined): GridseamError {
    if (this.closing) return unreachable(identity, 'cannot be reached: the CSMS is closing');
    if (!record) return unreachable(identity, 'has not connected');
    if (!record.link) return unreachable(identity, 'is not connected');
    return unreachable(
      identity,
      `is connected but its BootNotification is ${record.boot === 'none' ? 'outstanding' : record.boot}`,
    );
  }

  /** Runs `op` now if the station can take it, queues it until `queueUntil`, or fails. */
  private dispatch<T>(
    identity: string,
    kind: CommandKind,
    options: CommandOptions | undefined,
    op: (ctx: CommandContext, commands: StationCommands) => Promise<T>,
  ): Promise<T> {
    if (this.closing) return Promise.reject(this.notReady(identity, undefined));
    const record = this.registry.get(identity);
    const ready = this.ready(record, kind);
    const until = options?.queueUntil;
    if (ready && (this.queue.size(identity) === 0 || until === undefined))
      return this.execute(identity, kind, options, op);
    if (until !== undefined && Number.isFinite(until) && until > this.now()) {
      const queued = this.queue.add(identity, until, () => this.execute(identity, kind, options, op));
      if (ready && record) void this.flush(record);
      return queued;
    }
    return Promise.reject(this.notReady(identity, record));
  }

  private async execute<T>(
    identity: string,
    kind: CommandKind,
    options: CommandOptions | undefined,
    op: (ctx: CommandContext, commands: StationCommands) => Promise<T>,
  ): Promise<T> {
    const record = this.registry.get(identity);
    if (this.closing || !this.ready(record, kind)) throw this.notReady(identity, record);
    return op(this.commandContext(record, record.link, options?.timeoutMs), this.commandsOf(record));
  }

  /** Sends the queued commands of a station, one at a time, while it stays connected and accepted. */
  private async flush(record: StationRecord): Promise<void> {
    if (record.flushing) return;
    record.flushing = true;
    try {
      while (!this.closing && this.ready(record, 'command')) {
        const start = this.queue.next(record.identity);
        if (!start) break;
        await start();
      }
    } finally {
      record.flushing = false;
    }
  }

  connected(): string[] {
    return this.registry.connected();
  }

  station(identity: string): StationInfo | undefined {
    const record = this.registry.get(identity);
    return record ? this.registry.info(record) : undefined;
  }

  sessions(identity?: string): ChargingSession[] {
    return this.book.list(identity);
  }

  async setChargingLimit(identity: string, limit: ChargingLimit, options?: CommandOptions): Promise<LimitOutcome> {
    checkLimit(limit, this.now());
    const purpose = limitPurpose(limit);
    if (purpose === 'ExternalConstraints') {
      // 2.0.1 K01: ChargingStationExternalConstraints profiles come from outside systems, not the CSMS; 1.6 has none.
      throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'a CSMS cannot install ExternalConstraints profiles', {
        details: { identity },
      });
    }
    return this.dispatch(identity, 'command', options, async (ctx, commands) => {
      const now = this.now();
      if (limit.expiry <= now)
        throw unreachable(identity, 'came back only after the limit had expired; it was not sent');
      let transactionId: string | undefined;
      if (purpose === 'Tx') {
        const active = this.book.activeOn(identity, limit.evseId);
        if (!active) {
          throw new GridseamError(
            'GW_ERR_INVALID_TRANSITION',
            `${identity} has no transaction on EVSE ${limit.evseId}`,
            {
              details: { identity, evseId: limit.evseId },
            },
          );
        }
        transactionId = active.session.transactionId;
      }
      const spec = limitProfile(limit, purpose, this.limitStackLevel, transactionId);
      await commands.setProfile(ctx, limit.evseId, spec);
      ctx.record.limits.set(`${limit.evseId}/${purpose}`, spec.id);

      // Read back what the station will actually apply at the limit's start (or now).
      const at = Math.max(now, limit.start);
      const durationS = Math.ceil((at - now) / 1000) + READ_BACK_WINDOW_S;
      const composite = await commands.composite(ctx, limit.evseId, durationS, limit.unit);
      const facts = this.factsOf(ctx.record, limit.evseId);
      const shown = compositeLimitAt(composite, at, limit.unit, facts);
      if (shown === undefined) {
        throw new GridseamError('GW_ERR_DEVICE_REJECTED', `${identity}'s composite schedule has no limit in force`, {
          details: { identity, profileId: spec.id },
        });
      }
      const readBack = Math.round(shown * 1000) / 1000;
      if (readBack > limit.value + READ_BACK_TOLERANCE) {
        throw new GridseamError(
          'GW_ERR_DEVICE_REJECTED',
          `${identity} accepted profile ${spec.id} but its composite schedule shows ${readBack} ${limit.unit}, above the requested ${limit.value} ${limit.unit}`,
          { details: { identity, profileId: spec.id, readBack, requested: limit.value } },
        );
      }
      return {
        readBack,
        profileId: spec.id,
        detail: `${spec.purpose} profile ${spec.id} (stack level ${spec.stackLevel}) on EVSE ${limit.evseId}; composite shows ${readBack} ${limit.unit}`,
      };
    });
  }

  async clearChargingLimit(identity: string, evseId: number, options?: CommandOptions): Promise<void> {
    checkEvseId(evseId);
    await this.dispatch(identity, 'command', options, async (ctx, commands) => {
      const installed = LIMIT_PURPOSES.filter((purpose) => ctx.record.limits.has(`${evseId}/${purpose}`));
      // Nothing on record (e.g. after a restart): clear every id a limit on this EVSE could have used.
      const purposes = installed.length > 0 ? installed : LIMIT_PURPOSES;
      for (const purpose of purposes) {
        const profileId = limitProfile(
          { evseId, value: 0, unit: 'A', start: 0, expiry: 1 },
          purpose,
          this.limitStackLevel,
          undefined,
        ).id;
        await commands.clearProfile(ctx, profileId);
        ctx.record.limits.delete(`${evseId}/${purpose}`);
      }
    });
  }

  async getCompositeSchedule(
    identity: string,
    evseId: number,
    durationS: number,
    unit?: ChargingRateUnit,
  ): Promise<CompositeSchedule> {
    checkEvseId(evseId);
    if (!Number.isInteger(durationS) || durationS <= 0) {
      const message = 'durationS must be a positive whole number of seconds';
      throw new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path: '/durationS', message }] });
    }
    return this.dispatch(identity, 'command', undefined, (ctx, commands) =>
      commands.composite(ctx, evseId, durationS, unit),
    );
  }

  remoteStart(
    identity: string,
    evseId: number,
    idTag: string,
    options?: CommandOptions,
  ): Promise<'Accepted' | 'Rejected'> {
    checkEvseId(evseId);
    return this.dispatch(identity, 'command', options, (ctx, commands) => commands.remoteStart(ctx, evseId, idTag));
  }

  remoteStop(identity: string, transactionId: string, options?: CommandOptions): Promise<'Accepted' | 'Rejected'> {
    return this.dispatch(identity, 'command', options, (ctx, commands) => commands.remoteStop(ctx, transactionId));
  }

  reset(identity: string, type: 'Hard' | 'Soft', options?: CommandOptions): Promise<string> {
    return this.dispatch(identity, 'command', options, (ctx, commands) => commands.reset(ctx, type));
  }

  changeAvailability(identity: string, evseId: number, available: boolean, options?: CommandOptions): Promise<string> {
    checkEvseId(evseId);
    return this.dispatch(identity, 'command', options, (ctx, commands) =>
      commands.changeAvailability(ctx, evseId, available),
    );
  }

  getSettings(identity: string, keys: string[]): Promise<Record<string, string | undefined>> {
    return this.dispatch(identity, 'configuration', undefined, (ctx, commands) => commands.getSettings(ctx, keys));
  }

  setSettings(identity: string, values: Record<string, string>): Promise<Record<string, string>> {
    return this.dispatch(identity, 'configuration', undefined, (ctx, commands) => commands.setSettings(ctx, values));
  }

  private factsOf(record: StationRecord, evseId: number): ElectricalFacts {
    const evse = this.registry.info(record)?.evses.find((e) => e.evseId === evseId);
    const phases = evse?.phases ?? DEFAULT_FACTS.phases;
    return { voltage: evse?.voltage ?? DEFAULT_FACTS.voltage, phases };
  }

  // -------------------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.queue.rejectAll(
      new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'the CSMS closed before the station could take the command'),
    );
    const links: StationLink[] = [];
    for (const record of this.registry.values()) {
      this.clearTimers(record);
      if (record.link) links.push(record.link);
    }
    await Promise.all(
      links.map(async (link) => {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), CSMS_DEFAULTS.closeGraceMs);
        });
        const closed = link.close({ code: 1001, reason: 'CSMS shutting down' }).then(
          () => 'closed' as const,
          () => 'closed' as const,
        );
        if ((await Promise.race([closed, grace])) === 'late') await link.close({ force: true }).catch(() => {});
        clearTimeout(timer);
      }),
    );
    await this.rpc.close({ force: true }).catch(() => {});
    await new Promise<void>((resolve) => {
      this.listener.close(() => resolve());
      this.listener.closeAllConnections();
    });
  }
}

/** CsmsEvents whose listeners may throw without reaching the protocol handlers. */
function guardedEvents(events: CsmsEvents, log: CsmsLog): CsmsEvents & InboundEvents {
  const guard =
    <A extends unknown[]>(name: keyof CsmsEvents, fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (error) {
        log.warn(`CsmsEvents.${name} listener threw`, { error: String(error) });
      }
    };
  return {
    connected: guard('connected', (identity: string, version: OcppVersion) => events.connected(identity, version)),
    disconnected: guard('disconnected', (identity: string) => events.disconnected(identity)),
    booted: guard('booted', (station: StationInfo) => events.booted(station)),
    status: guard('status', (identity: string, evseId: number, status: EvseStatus, at: number) =>
      events.status(identity, evseId, status, at),
    ),
    readings: guard('readings', (identity: string, readings: Reading[]) => events.readings(identity, readings)),
    session: guard('session', (session: ChargingSession) => events.session(session)),
  };
}
