/**
 * The live feed (GET /api/live) over real sockets on 127.0.0.1 with the `ws` client: auth (hello,
 * wrong token, no auth in time, a message before auth), hostile frames (not JSON, binary, unknown
 * type, invalid subscribe, too big), telemetry batches after bus publishes (only subscribed devices,
 * the newest value per device and measurand), commands, device states, events, periodic summaries,
 * a slow client, the connection limit, the heartbeat, shutdown; and the hub's bus subscriptions
 * never taking messages from a durable group (memory bus and NATS JetStream). No timing assertions:
 * every wait is bounded and only guards against a hang.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Command, Reading } from '@gridseam/model';
import { pino } from 'pino';
import { type RawData, WebSocket } from 'ws';
import type { FleetSummary } from '../../src/api/fleet-summary.ts';
import type { LiveLimits } from '../../src/api/live/hub.ts';
import { liveHubOf } from '../../src/api/server.ts';
import { openBus, streamNameFor } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import { isNatsReachable } from '../helpers/services.ts';
import { battery, type Harness, harness, SECRETS, site, T0 } from './support.ts';

interface Message {
  type: string;
  [key: string]: unknown;
}

const WAIT_MS = 10_000;

/** A ws client that keeps every message and its close code. */
class Client {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters = new Set<() => void>();

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data: RawData) => {
      this.messages.push(JSON.parse(String(data)) as Message);
      for (const wake of this.#waiters) wake();
    });
    this.ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** The first message (after `from`) that `match` accepts; rejects after WAIT_MS. */
  next<T extends Message = Message>(match: (m: Message) => boolean, from = 0): Promise<T> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const found = this.messages.slice(from).find(match);
        if (found === undefined) return false;
        cleanup();
        resolve(found as T);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching message; got ${this.messages.map((m) => m.type).join(', ')}`));
      }, WAIT_MS);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const wake = () => {
        look();
      };
      if (!look()) this.#waiters.add(wake);
    });
  }

  ofType<T extends Message = Message>(type: string, from = 0): Promise<T> {
    return this.next<T>((m) => m.type === type, from);
  }

  async closeCode(): Promise<number> {
    const timer = setTimeout(() => this.ws.terminate(), WAIT_MS);
    const { code } = await this.closed;
    clearTimeout(timer);
    return code;
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The value of gridseam_live_closed_total for one reason. */
async function closedCount(h: Harness, reason: string): Promise<number> {
  const metric = h.metrics.getSingleMetric('gridseam_live_closed_total');
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function power(deviceId: string, value: number, ts: number): Reading {
  return { deviceId, ts, measurand: 'activePower', value, unit: 'W' };
}

interface Live {
  h: Harness;
  url: string;
  connect(): Promise<Client>;
  /** A connected client past `hello`. */
  authed(role?: keyof typeof SECRETS): Promise<Client>;
}

async function live(limits: Partial<LiveLimits> = {}, bus?: Bus): Promise<Live> {
  const h = await harness({ api: { live: limits, ...(bus ? { bus } : {}) } });
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${address.replace('http', 'ws')}/api/live`;
  const connect = async () => {
    const client = new Client(url);
    await client.opened();
    return client;
  };
  return {
    h,
    url,
    connect,
    async authed(role = 'viewer') {
      const client = await connect();
      client.send({ type: 'auth', token: SECRETS[role] });
      await client.ofType('hello');
      return client;
    },
  };
}

describe('live feed: auth and hostile clients', () => {
  let l: Live;
  before(async () => {
    l = await live({ authTimeoutMs: 300, maxFrameBytes: 4096 });
  });
  after(() => l.h.close());

  it('answers auth with hello and a summary at once', async () => {
    const client = await l.connect();
    client.send({ type: 'auth', token: SECRETS.operator });
    const hello = await client.ofType('hello');
    assert.deepEqual(hello, { type: 'hello', role: 'operator', name: 'operator-token' });
    const { summary } = await client.ofType<Message & { summary: FleetSummary }>('summary');
    assert.equal(summary.at, T0);
    assert.equal(summary.storage.socHistogram.length, 10);
    client.ws.close();
  });

  it('closes 4401 on an unknown token, on no auth in time, and on a message before auth', async () => {
    const wrong = await l.connect();
    wrong.send({ type: 'auth', token: 'not-a-token' });
    assert.equal(await wrong.closeCode(), 4401);

    const silent = await l.connect();
    assert.equal(await silent.closeCode(), 4401);

    const early = await l.connect();
    early.send({ type: 'subscribe', deviceIds: ['bat-1'] });
    assert.equal(await early.closeCode(), 4401);
    assert.equal(await closedCount(l.h, 'auth_timeout'), 1);
    assert.equal(await closedCount(l.h, 'unauthorized'), 2);
  });

  it('closes 1008 on frames that are not JSON, binary, of an unknown type or invalid; 1009 when too big', async () => {
    const cases: Array<[string, (c: Client) => void, number]> = [
      ['not JSON', (c) => c.send('{"type":'), 1008],
      ['binary', (c) => c.ws.send(Buffer.from([1, 2, 3])), 1008],
      ['unknown type', (c) => c.send({ type: 'shutdown' }), 1008],
      ['array', (c) => c.send([1, 2]), 1008],
      ['bad device id', (c) => c.send({ type: 'subscribe', deviceIds: ['../etc'] }), 1008],
      ['extra property', (c) => c.send({ type: 'subscribe', deviceIds: [], all: true }), 1008],
      ['second auth', (c) => c.send({ type: 'auth', token: SECRETS.admin }), 1008],
      ['too big', (c) => c.send({ type: 'subscribe', deviceIds: ['x'.repeat(5000)] }), 1009],
    ];
    for (const [name, act, code] of cases) {
      const client = await l.authed();
      act(client);
      assert.equal(await client.closeCode(), code, name);
    }
    const logged = l.h.logs.filter(
      (line) => line.includes('"live: closing connection"') || line.includes('frame refused'),
    );
    assert.ok(logged.length >= cases.length, 'each refusal is logged');
    assert.ok(
      logged.every((line) => JSON.parse(line).level === 30),
      'at info',
    );
    // The server is still serving.
    const after = await l.authed();
    after.ws.close();
  });

  it('answers WebSocket upgrades of other paths with 404, and other upgrades (h2c) as plain HTTP', async () => {
    const client = new Client(l.url.replace('/api/live', '/api/other'));
    await assert.rejects(client.opened(), /404/);
    const { port } = new URL(l.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(
        'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n' +
          'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
      );
    });
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.match(answer, /"status":"ok"/);
  });
});

describe('live feed: messages', () => {
  let l: Live;
  before(async () => {
    l = await live({ telemetryIntervalMs: 50, summaryIntervalMs: 200 });
    await l.h.store.sites.create(site());
    await l.h.store.devices.create(battery('bat-1'));
    await l.h.store.devices.create(battery('bat-2'));
  });
  after(() => l.h.close());

  it('sends telemetry of subscribed devices only, the newest value per device and measurand', async () => {
    const client = await l.authed();
    client.send({ type: 'subscribe', deviceIds: ['bat-1'] });
    assert.deepEqual(await client.ofType('subscribed'), { type: 'subscribed', deviceIds: ['bat-1'] });
    const from = client.messages.length;
    await l.h.bus.publish(
      'telemetry',
      {
        readings: [
          power('bat-1', 100, T0),
          power('bat-1', 300, T0 + 2000),
          power('bat-1', 200, T0 + 1000),
          { deviceId: 'bat-1', ts: T0, measurand: 'stateOfCharge', value: 64, unit: '%' },
          { ...power('bat-1', 50, T0 + 5000), phase: 'A' },
          power('bat-2', 999, T0),
        ],
      },
      { key: 'bat-1' },
    );
    const batch = await client.ofType<Message & { readings: Array<Record<string, unknown>> }>('telemetry', from);
    assert.equal(typeof batch.at, 'number');
    assert.deepEqual(
      batch.readings.sort((a, b) => String(a.measurand).localeCompare(String(b.measurand))),
      [
        { deviceId: 'bat-1', measurand: 'activePower', value: 300, at: T0 + 2000 },
        { deviceId: 'bat-1', measurand: 'stateOfCharge', value: 64, at: T0 },
      ],
    );
    client.ws.close();
  });

  it('sends device states and commands of subscribed devices, and every event', async () => {
    const client = await l.authed();
    client.send({ type: 'subscribe', deviceIds: ['bat-1'] });
    await client.ofType('subscribed');
    await l.h.bus.publish('device.state', { deviceId: 'bat-2', at: T0, online: false }, { key: 'bat-2' });
    await l.h.bus.publish(
      'device.state',
      { deviceId: 'bat-1', at: T0 + 1, online: false, detail: '3 polls failed' },
      { key: 'bat-1' },
    );
    const state = await client.ofType('device.state');
    assert.deepEqual(state, {
      type: 'device.state',
      deviceId: 'bat-1',
      state: 'offline',
      online: false,
      at: T0 + 1,
      detail: '3 polls failed',
    });

    // A setpoint: the registry publishes the pending command; the executor's result brings the stored one.
    const submitted = await l.h.call('operator', {
      method: 'POST',
      url: '/api/devices/bat-1/setpoints',
      payload: { kind: 'chargeLimit', value: 2000, durationS: 600 },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = (JSON.parse(submitted.body) as Command).id;
    const pending = await client.next<Message & { command: Command }>(
      (m) => m.type === 'command' && (m.command as Command).status === 'pending',
    );
    assert.equal(pending.command.id, id);
    await l.h.store.commands.transition(id, 'sent', T0 + 10);
    await l.h.store.commands.transition(id, 'confirmed', T0 + 20, 'read back', {
      readBack: { at: T0 + 20, value: 2000, matched: true },
    });
    await l.h.bus.publish(
      'command.result',
      { commandId: id, deviceId: 'bat-1', status: 'confirmed', at: T0 + 20 },
      { key: 'bat-1' },
    );
    const confirmed = await client.next<Message & { command: Command }>(
      (m) => m.type === 'command' && (m.command as Command).status === 'confirmed',
    );
    assert.deepEqual(confirmed.command.readBack, { at: T0 + 20, value: 2000, matched: true });

    // Events go to every client, subscribed or not.
    const other = await l.authed();
    await l.h.call('operator', {
      method: 'POST',
      url: '/api/programs',
      payload: { id: 'prog-1', name: 'P', kind: 'demand-response', source: 'operator', primacy: 20 },
    });
    const created = await l.h.call('operator', {
      method: 'POST',
      url: '/api/events',
      payload: {
        id: 'evt-1',
        programId: 'prog-1',
        intervals: [{ start: T0 + 3_600_000, durationS: 600, signals: [{ kind: 'exportLimit', value: 0 }] }],
        targets: {},
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    for (const c of [client, other]) {
      const { event } = await c.ofType<Message & { event: { id: string; status: string } }>('event');
      assert.equal(event.id, 'evt-1');
      assert.equal(event.status, 'scheduled');
    }
    assert.ok(
      !client.messages.some((m) => m.type === 'device.state' && m.deviceId === 'bat-2'),
      'no state of an unsubscribed device',
    );
    assert.ok(!other.messages.some((m) => m.type === 'command'), 'no commands without a subscription');
    client.ws.close();
    other.ws.close();
  });

  it('sends the summary again every summaryIntervalMs while someone listens', async () => {
    const client = await l.authed();
    const first = client.messages.findIndex((m) => m.type === 'summary');
    await client.ofType('summary', first + 1);
    client.ws.close();
  });

  it('opens the device feed while someone subscribes to devices, and closes it after', async () => {
    const hub = liveHubOf(l.h.app);
    assert.ok(hub);
    await waitUntil(() => hub.stats().connections === 0, 'earlier clients gone');
    assert.equal(hub.stats().feedOpen, false);
    const client = await l.authed();
    client.send({ type: 'subscribe', deviceIds: ['bat-2'] });
    await client.ofType('subscribed');
    assert.deepEqual(hub.stats(), { connections: 1, authenticated: 1, subscribedDevices: 1, feedOpen: true });
    client.send({ type: 'subscribe', deviceIds: [] });
    await client.ofType('subscribed', client.messages.length);
    assert.equal(hub.stats().feedOpen, false);
    assert.equal(hub.stats().subscribedDevices, 0);
    client.ws.close();
    await waitUntil(() => hub.stats().connections === 0, 'the connection to go');
  });
});

describe('live feed: bounds', () => {
  it('closes a client that does not read (1013) and serves the others', async () => {
    const l = await live({ telemetryIntervalMs: 10, maxBufferedBytes: 64 * 1024 });
    try {
      const deviceIds = Array.from({ length: 1000 }, (_, i) => `d-${i}`);
      const slow = await l.authed();
      slow.send({ type: 'subscribe', deviceIds });
      await slow.ofType('subscribed');
      const healthy = await l.authed();
      healthy.send({ type: 'subscribe', deviceIds: ['d-1'] });
      await healthy.ofType('subscribed');
      // The slow client stops reading: the kernel buffers fill, then the server's.
      const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const measurands = ['activePower', 'reactivePower', 'voltage', 'current', 'frequency', 'temperature'];
      let ts = T0;
      const deadline = Date.now() + 60_000;
      while ((await closedCount(l.h, 'slow')) === 0) {
        if (Date.now() > deadline) throw new Error('the slow client was never closed');
        ts += 1000;
        const readings = deviceIds.flatMap((deviceId) =>
          measurands.map((measurand) => ({ deviceId, ts, measurand, value: ts, unit: 'W' }) as Reading),
        );
        await l.h.bus.publish('telemetry', { readings }, { key: 'fleet' });
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      socket.resume();
      assert.equal(await slow.closeCode(), 1013);
      const from = healthy.messages.length;
      await l.h.bus.publish('telemetry', { readings: [power('d-1', 7, ts + 1000)] }, { key: 'd-1' });
      await healthy.next((m) => m.type === 'telemetry' && JSON.stringify(m).includes(`${ts + 1000}`), from);
      healthy.ws.close();
    } finally {
      await l.h.close();
    }
  });

  it('closes connections past maxConnections with 1013; terminates clients that stop answering pings', async () => {
    const l = await live({ maxConnections: 2, heartbeatMs: 100 });
    try {
      const a = await l.authed();
      const b = await l.connect();
      const c = await l.connect();
      assert.equal(await c.closeCode(), 1013);
      assert.equal(await closedCount(l.h, 'too_many'), 1);
      // b stops reading: no pong gets back, the heartbeat cuts it off.
      (b.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      await waitUntil(async () => (await closedCount(l.h, 'heartbeat')) === 1, 'the heartbeat to terminate b');
      assert.equal(a.ws.readyState, WebSocket.OPEN, 'a answers its pings');
      a.ws.close();
      b.ws.terminate();
    } finally {
      await l.h.close();
    }
  });

  it('closes every client with 1001 when the API closes', async () => {
    const l = await live();
    const a = await l.authed();
    const b = await l.connect();
    await l.h.close();
    assert.equal(await a.closeCode(), 1001);
    assert.equal(await b.closeCode(), 1001);
  });
});

/** A durable group on the bus still gets every telemetry message while the live hub listens. */
async function checkNoStealing(bus: Bus, l: Live): Promise<void> {
  const received: number[] = [];
  const group = await bus.subscribe(
    'telemetry',
    (message) => {
      received.push((message.payload.readings[0] as Reading).ts);
    },
    { group: `writer-${randomBytes(4).toString('hex')}` },
  );
  try {
    const client = await l.authed();
    client.send({ type: 'subscribe', deviceIds: ['bat-1'] });
    await client.ofType('subscribed');
    const sent = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => T0 + i);
    for (const ts of sent)
      await bus.publish('telemetry', { readings: [power('bat-1', ts - T0, ts)] }, { key: 'bat-1' });
    await waitUntil(() => received.length === sent.length, `the group to get all ${sent.length}`);
    assert.deepEqual(received.sort(), sent);
    await client.next(
      (m) => m.type === 'telemetry' && (m.readings as Array<{ at: number }>).some((r) => r.at === sent.at(-1)),
    );
    client.ws.close();
  } finally {
    await group.close();
  }
}

describe('live feed: the hub never takes messages from a durable group', () => {
  it('memory bus', async () => {
    const l = await live({ telemetryIntervalMs: 20 });
    try {
      await checkNoStealing(l.h.bus, l);
    } finally {
      await l.h.close();
    }
  });

  // A second describe for NATS would need its own skip; it/skip keeps the reason visible.
  it('NATS JetStream', async (t) => {
    if (!(await isNatsReachable())) {
      t.skip('NATS not reachable at 127.0.0.1:4222');
      return;
    }
    const prefix = `gstest${randomBytes(5).toString('hex')}`;
    const bus = await openBus(
      { kind: 'nats', servers: 'nats://127.0.0.1:4222', prefix },
      { logger: pino({ level: 'silent' }) },
    );
    const l = await live({ telemetryIntervalMs: 20 }, bus);
    try {
      await checkNoStealing(bus, l);
    } finally {
      await l.h.close();
      const { connect } = await import('nats');
      const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
      await (await nc.jetstreamManager()).streams.delete(streamNameFor(prefix)).catch(() => false);
      await bus.close();
      await nc.close();
    }
  });
});
