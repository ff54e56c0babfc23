/**
 * The live feed behind GET /api/live: one WebSocket server (ws, noServer) on the API's HTTP server,
 * fed by ONE set of bus subscriptions per gateway whatever the number of connections.
 *
 * Bus: the subscriptions have no group, so each is the bus's broadcast kind (memory bus: its own
 * queue; NATS: an ephemeral consumer delivering new messages only) and never takes a message away
 * from a durable group such as the telemetry writer's. 'device.state' (for the fleet summary's
 * online state) and 'program.event' are held while the hub runs; 'telemetry', 'command' and
 * 'command.result' only while some connection subscribed to devices.
 *
 * Connections: the first message must be `auth` with an API token within authTimeoutMs (else 4401);
 * then the client gets `hello`, a `summary` at once and every summaryIntervalMs, `event`s, and for
 * the devices it subscribed to: `telemetry` batches (the newest value per device and measurand,
 * at most every telemetryIntervalMs), `device.state` and `command` messages. Bounds: maxConnections
 * (more: closed 1013), maxFrameBytes per client frame (ws closes 1009), a client whose unsent bytes
 * pass maxBufferedBytes is closed 1013, pings every heartbeatMs (no pong by the next: terminated).
 * Every refusal closes with a code and logs at info; nothing a client sends can throw out of here.
 */
import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Command, ProgramEvent } from '@gridseam/model';
import type { Logger } from 'pino';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Bus, BusMessage, Subscription } from '../../bus/types.ts';
import type { Store } from '../../store/types.ts';
import type { Principal, TokenVerifier } from '../auth.ts';
import type { FleetSummarizer } from '../fleet-summary.ts';
import type { ApiMetrics } from '../metrics.ts';
import { roleAllows } from '../rbac.ts';
import type { Role } from '../types.ts';
import type { DeviceStates } from './device-states.ts';
import { CLOSE, type LiveReading, parseClientMessage, type ServerMessage } from './protocol.ts';

export const LIVE_PATH = '/api/live';
/** The least role that may read the feed. */
export const LIVE_ROLE: Role = 'viewer';

export interface LiveLimits {
  maxConnections: number;
  /** Unsent bytes past which a client is closed 1013. */
  maxBufferedBytes: number;
  /** Largest frame a client may send. */
  maxFrameBytes: number;
  authTimeoutMs: number;
  telemetryIntervalMs: number;
  summaryIntervalMs: number;
  heartbeatMs: number;
}

export const DEFAULT_LIVE_LIMITS: Readonly<LiveLimits> = {
  maxConnections: 100,
  maxBufferedBytes: 1024 * 1024,
  maxFrameBytes: 64 * 1024,
  authTimeoutMs: 10_000,
  telemetryIntervalMs: 500,
  summaryIntervalMs: 5000,
  heartbeatMs: 30_000,
};

/** How long close() waits for clients to answer the close frame before cutting them off. */
const SHUTDOWN_GRACE_MS = 1000;
/** RFC 6455 section 5.5: a close reason fits in 123 bytes. */
const MAX_REASON_BYTES = 123;

export interface LiveHubOptions {
  bus: Pick<Bus, 'subscribe'>;
  store: Pick<Store, 'commands'>;
  verifier: Pick<TokenVerifier, 'verify'>;
  summaries: Pick<FleetSummarizer, 'get'>;
  states: DeviceStates;
  logger: Logger;
  metrics: Pick<ApiMetrics, 'liveConnections' | 'liveClosed' | 'authFailures'>;
  now: () => number;
  limits?: Partial<LiveLimits>;
}

interface Connection {
  readonly id: number;
  readonly ws: WebSocket;
  readonly closed: Promise<void>;
  principal?: Principal;
  authTimer?: NodeJS.Timeout;
  deviceIds: ReadonlySet<string>;
  alive: boolean;
  /** Why the server closed it (metrics label); undefined: the client did. */
  closeReason?: string;
  /** Whether the close was counted already (a refusal is counted when the server decides it). */
  counted?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function closeReasonText(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  return bytes.length <= MAX_REASON_BYTES ? reason : bytes.subarray(0, MAX_REASON_BYTES - 3).toString('utf8') + '...';
}

/** Answers an upgrade the hub does not take with a bare HTTP status, then ends the socket. */
function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable)
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  else socket.destroy();
}

/**
 * Serves a request that asked for a protocol other than WebSocket as plain HTTP/1.1 on the same
 * server, then closes the connection (Node no longer parses that socket). Only GET and HEAD: the
 * body of another method was not parsed.
 */
function answerWithoutUpgrade(server: Server, request: IncomingMessage, socket: Duplex): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    refuseUpgrade(socket, 400, 'Bad Request');
    return;
  }
  const response = new ServerResponse(request);
  response.shouldKeepAlive = false;
  response.assignSocket(socket as Socket);
  response.on('finish', () => {
    response.detachSocket(socket as Socket);
    socket.end();
  });
  server.emit('request', request, response);
}

export class LiveHub {
  readonly #options: LiveHubOptions;
  readonly #limits: LiveLimits;
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  /** Device id -> connections subscribed to it. */
  readonly #subscribers = new Map<string, Set<Connection>>();
  readonly #base: Subscription[] = [];
  readonly #feed: Subscription[] = [];
  #feedWork: Promise<void> = Promise.resolve();
  /** Newest reading per device and measurand since the last flush. */
  #pendingReadings = new Map<string, Map<string, LiveReading>>();
  /** Commands settled since the last flush: command id -> device id. */
  #pendingResults = new Map<string, string>();
  #flushTimer: NodeJS.Timeout | undefined;
  #summaryTimer: NodeJS.Timeout | undefined;
  #summaryRunning = false;
  readonly #summaryTargets = new Set<Connection>();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;
  #server: Server | undefined;

  constructor(options: LiveHubOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_LIVE_LIMITS, ...options.limits };
    this.#log = options.logger;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.#limits.maxFrameBytes,
    });
  }

  /** Holds the bus subscriptions every connection shares and starts the heartbeat. */
  async start(): Promise<void> {
    const { bus } = this.#options;
    this.#base.push(
      await bus.subscribe('device.state', (message) => this.#onDeviceState(message.payload)),
      await bus.subscribe('program.event', (message) => this.#onEvent(message.payload)),
    );
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), this.#limits.heartbeatMs);
    this.#heartbeatTimer.unref();
  }

  /**
   * Takes the WebSocket upgrades of GET /api/live on an HTTP server; WebSocket upgrades of other
   * paths answer 404, other upgrades (h2c) are answered as plain HTTP/1.1.
   */
  attach(server: Server): void {
    this.#server = server;
    server.on('upgrade', this.#onUpgrade);
  }

  stats(): { connections: number; authenticated: number; subscribedDevices: number; feedOpen: boolean } {
    let authenticated = 0;
    for (const connection of this.#connections) if (connection.principal) authenticated++;
    return {
      connections: this.#connections.size,
      authenticated,
      subscribedDevices: this.#subscribers.size,
      feedOpen: this.#feed.length > 0,
    };
  }

  /** Closes every connection (1001), stops the timers and the bus subscriptions. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#server?.removeListener('upgrade', this.#onUpgrade);
    clearTimeout(this.#flushTimer);
    clearInterval(this.#summaryTimer);
    clearInterval(this.#heartbeatTimer);
    const connections = [...this.#connections];
    for (const connection of connections)
      this.#refuse(connection, CLOSE.goingAway, 'the gateway is shutting down', 'shutdown');
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(connections.map((c) => c.closed)),
      new Promise((resolve) => {
        grace = setTimeout(resolve, SHUTDOWN_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    for (const connection of connections) connection.ws.terminate();
    await this.#syncFeed();
    await Promise.allSettled(this.#base.splice(0).map((subscription) => subscription.close()));
    this.#wss.close();
  }

  // ------------------------------------------------------------------ connections

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (error) => this.#log.debug({ err: error }, 'live: socket error during upgrade'));
    const path = (request.url ?? '').split('?', 1)[0];
    const websocket = request.headers.upgrade?.toLowerCase() === 'websocket';
    // With an 'upgrade' listener Node hands over every request that asks for one (curl --http2
    // asks for h2c): those are still answered as plain HTTP/1.1 by the API.
    if (!websocket && this.#server !== undefined) answerWithoutUpgrade(this.#server, request, socket);
    else if (path !== LIVE_PATH && path !== `${LIVE_PATH}/`) refuseUpgrade(socket, 404, 'Not Found');
    else if (this.#closed) refuseUpgrade(socket, 503, 'Service Unavailable');
    else
      try {
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws));
      } catch (error) {
        this.#log.info({ err: error }, 'live: upgrade refused');
        socket.destroy();
      }
  };

  #accept(ws: WebSocket): void {
    let resolveClosed!: () => void;
    const connection: Connection = {
      id: this.#nextId++,
      ws,
      closed: new Promise((resolve) => {
        resolveClosed = resolve;
      }),
      deviceIds: new Set(),
      alive: true,
    };
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has already sent its close frame (1009 too big, 1002 protocol, 1007 bad UTF-8).
      connection.closeReason ??= error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_big' : 'protocol';
      this.#log.info({ connection: connection.id, code: error.code, err: error.message }, 'live: frame refused');
    });
    ws.on('close', (code) => {
      this.#onClose(connection, code);
      resolveClosed();
    });
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      try {
        this.#onMessage(connection, data, isBinary);
      } catch (error) {
        this.#log.error({ err: error, connection: connection.id }, 'live: message handling failed');
        this.#refuse(connection, CLOSE.internal, 'GW_ERR_INTERNAL', 'internal');
      }
    });
    if (this.#closed || this.#connections.size >= this.#limits.maxConnections) {
      this.#refuse(connection, CLOSE.tryAgainLater, `at most ${this.#limits.maxConnections} connections`, 'too_many');
      return;
    }
    this.#connections.add(connection);
    this.#options.metrics.liveConnections.set(this.#connections.size);
    connection.authTimer = setTimeout(
      () =>
        this.#refuse(connection, CLOSE.unauthorized, 'GW_ERR_UNAUTHORIZED: no auth message in time', 'auth_timeout'),
      this.#limits.authTimeoutMs,
    );
    connection.authTimer.unref();
  }

  #onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closeReason !== undefined) return;
    const refusal = this.#refusalOf(connection, data, isBinary);
    if (refusal !== undefined) this.#refuse(connection, refusal.code, refusal.text, refusal.reason);
  }

  /** Handles one client frame; what to close the connection with when it is refused. */
  #refusalOf(
    connection: Connection,
    data: RawData,
    isBinary: boolean,
  ): { code: number; text: string; reason: string } | undefined {
    if (isBinary) return { code: CLOSE.policy, text: 'GW_ERR_MALFORMED: binary frame', reason: 'malformed' };
    const parsed = parseClientMessage(frameText(data));
    if (!parsed.ok) {
      const reason = parsed.reason === 'unknown message type' ? 'unknown_type' : 'malformed';
      return { code: CLOSE.policy, text: `${parsed.code}: ${parsed.reason}`, reason };
    }
    const message = parsed.message;
    if (connection.principal === undefined) {
      if (message.type !== 'auth')
        return { code: CLOSE.unauthorized, text: 'GW_ERR_UNAUTHORIZED: auth first', reason: 'unauthorized' };
      return this.#authenticate(connection, message.token);
    }
    if (message.type === 'auth')
      return { code: CLOSE.policy, text: 'GW_ERR_VALIDATION: already authenticated', reason: 'malformed' };
    this.#subscribe(connection, message.deviceIds);
    return undefined;
  }

  #authenticate(connection: Connection, token: string): { code: number; text: string; reason: string } | undefined {
    const principal = this.#options.verifier.verify(token);
    if (principal === undefined) {
      this.#options.metrics.authFailures.inc({ reason: 'unknown' });
      return { code: CLOSE.unauthorized, text: 'GW_ERR_UNAUTHORIZED: unknown token', reason: 'unauthorized' };
    }
    if (!roleAllows(principal.role, LIVE_ROLE)) {
      this.#options.metrics.authFailures.inc({ reason: 'role' });
      return { code: CLOSE.forbidden, text: `GW_ERR_FORBIDDEN: needs ${LIVE_ROLE}`, reason: 'forbidden' };
    }
    clearTimeout(connection.authTimer);
    connection.principal = principal;
    this.#log.info({ connection: connection.id, token: principal.name }, 'live: client authenticated');
    this.#send(connection, JSON.stringify({ type: 'hello', role: principal.role, name: principal.name }));
    this.#sendSummary([connection]);
    this.#summaryTimer ??= this.#startSummaryTimer();
    return undefined;
  }

  #subscribe(connection: Connection, deviceIds: readonly string[]): void {
    const next = new Set(deviceIds);
    this.#unlink(connection);
    connection.deviceIds = next;
    for (const deviceId of next) {
      let set = this.#subscribers.get(deviceId);
      if (set === undefined) {
        set = new Set();
        this.#subscribers.set(deviceId, set);
      }
      set.add(connection);
    }
    this.#syncFeed().then(
      () => {
        if (connection.deviceIds !== next) return; // a newer subscribe answers for itself
        if (next.size > 0 && this.#feed.length === 0)
          this.#refuse(connection, CLOSE.internal, 'GW_ERR_BUS_UNAVAILABLE', 'bus');
        else this.#send(connection, JSON.stringify({ type: 'subscribed', deviceIds: [...next] }));
      },
      () => undefined,
    );
  }

  /** Removes a connection from the per-device subscriber sets. */
  #unlink(connection: Connection): void {
    for (const deviceId of connection.deviceIds) {
      const set = this.#subscribers.get(deviceId);
      set?.delete(connection);
      if (set?.size === 0) this.#subscribers.delete(deviceId);
    }
  }

  #onClose(connection: Connection, code: number): void {
    clearTimeout(connection.authTimer);
    if (this.#connections.delete(connection)) this.#options.metrics.liveConnections.set(this.#connections.size);
    this.#unlink(connection);
    connection.deviceIds = new Set();
    const reason = connection.closeReason ?? 'client';
    if (connection.counted !== true) this.#options.metrics.liveClosed.inc({ reason });
    this.#log.info({ connection: connection.id, code, reason }, 'live: connection closed');
    if (this.stats().authenticated === 0 && this.#summaryTimer !== undefined) {
      clearInterval(this.#summaryTimer);
      this.#summaryTimer = undefined;
    }
    void this.#syncFeed();
  }

  /** Closes a connection with a code; `reason` labels the metric. */
  #refuse(connection: Connection, code: number, text: string, reason: string): void {
    if (connection.closeReason !== undefined) return;
    connection.closeReason = reason;
    connection.counted = true;
    this.#options.metrics.liveClosed.inc({ reason });
    clearTimeout(connection.authTimer);
    this.#log.info({ connection: connection.id, code, reason: text }, 'live: closing connection');
    try {
      connection.ws.close(code, closeReasonText(text));
    } catch (error) {
      this.#log.debug({ err: error }, 'live: close failed; terminating');
      connection.ws.terminate();
    }
  }

  #heartbeat(): void {
    for (const connection of this.#connections) {
      if (!connection.alive) {
        connection.closeReason ??= 'heartbeat';
        this.#log.info({ connection: connection.id }, 'live: no pong since the last ping; terminated');
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      try {
        connection.ws.ping();
      } catch {
        connection.ws.terminate();
      }
    }
  }

  // ------------------------------------------------------------------ sending

  /** Sends one serialised message, unless the client is too far behind (then it is closed 1013). */
  #send(connection: Connection, text: string): void {
    const ws = connection.ws;
    if (connection.closeReason !== undefined || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.#refuse(
        connection,
        CLOSE.tryAgainLater,
        `too slow: more than ${this.#limits.maxBufferedBytes} bytes unsent`,
        'slow',
      );
      return;
    }
    ws.send(text);
  }

  #broadcast(message: ServerMessage, to: Iterable<Connection>): void {
    let text: string | undefined;
    for (const connection of to) {
      if (connection.principal === undefined) continue;
      text ??= JSON.stringify(message);
      this.#send(connection, text);
    }
  }

  #startSummaryTimer(): NodeJS.Timeout {
    const timer = setInterval(() => this.#sendSummary(this.#connections), this.#limits.summaryIntervalMs);
    timer.unref();
    return timer;
  }

  /** Sends the fleet summary to these connections (joining a computation already running). */
  #sendSummary(to: Iterable<Connection>): void {
    for (const connection of to) this.#summaryTargets.add(connection);
    if (this.#summaryRunning) return;
    this.#summaryRunning = true;
    void this.#drainSummaries();
  }

  async #drainSummaries(): Promise<void> {
    try {
      while (this.#summaryTargets.size > 0 && !this.#closed) {
        const targets = [...this.#summaryTargets];
        this.#summaryTargets.clear();
        const summary = await this.#options.summaries.get();
        this.#broadcast({ type: 'summary', summary }, targets);
      }
    } catch (error) {
      this.#summaryTargets.clear();
      this.#log.warn({ err: error }, 'live: fleet summary failed');
    } finally {
      this.#summaryRunning = false;
    }
  }

  // ------------------------------------------------------------------ bus

  /** Opens the device feed while some connection subscribed to devices, closes it when none does. */
  #syncFeed(): Promise<void> {
    const run = this.#feedWork.then(async () => {
      const wanted = !this.#closed && this.#subscribers.size > 0;
      if (wanted && this.#feed.length === 0) await this.#openFeed();
      else if (!wanted && this.#feed.length > 0)
        await Promise.allSettled(this.#feed.splice(0).map((subscription) => subscription.close()));
    });
    this.#feedWork = run.catch((error: unknown) => this.#log.warn({ err: error }, 'live: device feed not changed'));
    return this.#feedWork;
  }

  async #openFeed(): Promise<void> {
    const { bus } = this.#options;
    const opened: Subscription[] = [];
    try {
      opened.push(await bus.subscribe('telemetry', (message) => this.#onTelemetry(message.payload)));
      opened.push(await bus.subscribe('command', (message) => this.#onCommand(message)));
      opened.push(await bus.subscribe('command.result', (message) => this.#onCommandResult(message.payload)));
      this.#feed.push(...opened);
    } catch (error) {
      await Promise.allSettled(opened.map((subscription) => subscription.close()));
      throw error;
    }
  }

  #onTelemetry(payload: unknown): void {
    const readings = isRecord(payload) ? payload.readings : undefined;
    if (!Array.isArray(readings)) return;
    for (const reading of readings) {
      if (!isRecord(reading) || reading.phase !== undefined) continue;
      const { deviceId, measurand, value, ts } = reading;
      if (typeof deviceId !== 'string' || !this.#subscribers.has(deviceId)) continue;
      if (typeof measurand !== 'string' || typeof ts !== 'number') continue;
      if (typeof value !== 'number' && typeof value !== 'string') continue;
      let byMeasurand = this.#pendingReadings.get(deviceId);
      if (byMeasurand === undefined) {
        byMeasurand = new Map();
        this.#pendingReadings.set(deviceId, byMeasurand);
      }
      const kept = byMeasurand.get(measurand);
      if (kept === undefined || kept.at <= ts) byMeasurand.set(measurand, { deviceId, measurand, value, at: ts });
    }
    if (this.#pendingReadings.size > 0) this.#scheduleFlush();
  }

  #onCommand(message: BusMessage<Command>): void {
    const command: unknown = message.payload;
    if (!isRecord(command) || typeof command.deviceId !== 'string') return;
    const subscribers = this.#subscribers.get(command.deviceId);
    if (subscribers !== undefined) this.#broadcast({ type: 'command', command: command as Command }, subscribers);
  }

  #onCommandResult(payload: unknown): void {
    if (!isRecord(payload) || typeof payload.commandId !== 'string' || typeof payload.deviceId !== 'string') return;
    if (!this.#subscribers.has(payload.deviceId)) return;
    this.#pendingResults.set(payload.commandId, payload.deviceId);
    this.#scheduleFlush();
  }

  #onDeviceState(payload: unknown): void {
    if (!this.#options.states.record(payload)) return;
    const subscribers = this.#subscribers.get(payload.deviceId);
    if (subscribers === undefined) return;
    this.#broadcast(
      {
        type: 'device.state',
        deviceId: payload.deviceId,
        state: payload.online ? 'online' : 'offline',
        online: payload.online,
        at: payload.at,
        ...(payload.state === undefined ? {} : { operatingState: payload.state }),
        ...(typeof payload.detail === 'string' ? { detail: payload.detail.slice(0, 256) } : {}),
      },
      subscribers,
    );
  }

  #onEvent(payload: unknown): void {
    if (!isRecord(payload) || typeof payload.id !== 'string') return;
    this.#broadcast({ type: 'event', event: payload as unknown as ProgramEvent }, this.#connections);
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#closed) return;
    this.#flushTimer = setTimeout(() => this.#flush(), this.#limits.telemetryIntervalMs);
    this.#flushTimer.unref();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const readings = this.#pendingReadings;
    const results = this.#pendingResults;
    this.#pendingReadings = new Map();
    this.#pendingResults = new Map();
    if (readings.size > 0) this.#sendTelemetry(readings);
    if (results.size > 0) void this.#sendCommands([...results.keys()]);
  }

  #sendTelemetry(pending: ReadonlyMap<string, ReadonlyMap<string, LiveReading>>): void {
    const at = this.#options.now();
    for (const connection of this.#connections) {
      if (connection.principal === undefined || connection.deviceIds.size === 0) continue;
      const readings: LiveReading[] = [];
      // Walk the smaller side: the connection's devices or the devices with news.
      if (connection.deviceIds.size < pending.size) {
        for (const deviceId of connection.deviceIds) readings.push(...(pending.get(deviceId)?.values() ?? []));
      } else {
        for (const [deviceId, byMeasurand] of pending)
          if (connection.deviceIds.has(deviceId)) readings.push(...byMeasurand.values());
      }
      if (readings.length > 0) this.#send(connection, JSON.stringify({ type: 'telemetry', at, readings }));
    }
  }

  /** A settled command as stored (status, read-back, error), to the subscribers of its device. */
  async #sendCommands(ids: readonly string[]): Promise<void> {
    let commands: Command[];
    try {
      commands = await this.#options.store.commands.getMany(ids);
    } catch (error) {
      this.#log.warn({ err: error, commands: ids.length }, 'live: settled commands could not be read');
      return;
    }
    for (const command of commands) {
      const subscribers = this.#subscribers.get(command.deviceId);
      if (subscribers !== undefined) this.#broadcast({ type: 'command', command }, subscribers);
    }
  }
}
