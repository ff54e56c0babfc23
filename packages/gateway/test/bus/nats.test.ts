import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, describe, it, type TestContext } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { connect, type NatsConnection } from 'nats';
import { consumerNameFor, type NatsBus, openBus, streamNameFor } from '../../src/bus/index.ts';
import type { Bus, BusMessage, DeviceStateMessage, NatsBusConfig } from '../../src/bus/types.ts';
import { busContract } from './contract.ts';
import {
  captureLogger,
  natsUnreachableReason,
  natsUrl,
  silentLogger,
  sleep,
  waitFor,
  waitForAsync,
} from './support.ts';

/** Every prefix a test used: its stream is deleted at the end. */
const prefixes = new Set<string>();

function testPrefix(): string {
  const prefix = `gstest${randomBytes(5).toString('hex')}`;
  prefixes.add(prefix);
  return prefix;
}

function config(prefix: string, extra: Partial<NatsBusConfig> = {}): NatsBusConfig {
  return { kind: 'nats', servers: natsUrl(), prefix, retryBackoffMs: 50, ...extra };
}

async function deleteTestStreams(): Promise<void> {
  if (prefixes.size === 0 || (await natsUnreachableReason())) return;
  const nc = await connect({ servers: natsUrl() });
  try {
    const jsm = await nc.jetstreamManager();
    for (const prefix of prefixes) await jsm.streams.delete(streamNameFor(prefix)).catch(() => false);
  } finally {
    await nc.close();
  }
}

busContract('nats', {
  unavailable: () => natsUnreachableReason(),
  open: () => openBus(config(testPrefix()), { logger: silentLogger() }),
  cleanup: deleteTestStreams,
});

function state(deviceId: string, detail: string): DeviceStateMessage {
  return { deviceId, at: Date.now(), online: true, detail };
}

function isCode(code: string) {
  return (err: unknown) => GridseamError.is(err) && err.code === code;
}

/** A raw NATS connection for a test (closed after it), or undefined when the test was skipped. */
async function rawConnection(t: TestContext): Promise<NatsConnection | undefined> {
  const reason = await natsUnreachableReason();
  if (reason) {
    t.skip(reason);
    return undefined;
  }
  const nc = await connect({ servers: natsUrl() });
  t.after(() => nc.close());
  return nc;
}

/** A TCP forwarder on 127.0.0.1 that a test can cut and restore, to simulate losing the server. */
class Forwarder {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('nats bus', () => {
  after(deleteTestStreams);

  it('creates its stream idempotently, and publishes to <prefix>.<topic token>.<key> with Nats-Msg-Id', async (t) => {
    const nc = await rawConnection(t);
    if (!nc) return;
    const prefix = testPrefix();
    const first = await openBus(config(prefix, { maxAgeMs: 3_600_000 }), { logger: silentLogger() });
    t.after(() => first.close());
    // A second gateway on the same prefix, with another retention: the stream is updated, not duplicated.
    const second = await openBus(config(prefix, { maxAgeMs: 7_200_000 }), { logger: silentLogger() });
    t.after(() => second.close());
    assert.equal(first.kind, 'nats');

    await first.publish('device.state', state('inv-7', 'hello'), { key: 'inv-7', id: 'wire-1' });
    await second.publish('device.state', state('inv-7', 'again'), { key: 'inv-7', id: 'wire-1' });

    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(streamNameFor(prefix));
    assert.deepEqual(info.config.subjects, [`${prefix}.>`]);
    assert.equal(info.config.storage, 'file');
    assert.equal(info.config.retention, 'limits');
    assert.equal(info.config.max_age, 7_200_000 * 1_000_000, 'the later open updated max_age');
    assert.ok(info.config.duplicate_window > 0);
    assert.equal(info.state.messages, 1, 'the server dropped the second publish of wire-1');
    assert.equal(second.stats().duplicates, 1);

    const stored = await jsm.streams.getMessage(streamNameFor(prefix), {
      last_by_subj: `${prefix}.device-state.inv-7`,
    });
    assert.equal(stored.header.get('Nats-Msg-Id'), 'wire-1');
    const envelope = stored.json<Record<string, unknown>>();
    assert.equal(envelope.id, 'wire-1');
    assert.equal(typeof envelope.publishedAt, 'number');
    assert.deepEqual((envelope.payload as DeviceStateMessage).detail, 'hello');
  });

  it('terminates, logs and counts malformed messages without crashing, and goes on delivering', async (t) => {
    const nc = await rawConnection(t);
    if (!nc) return;
    const prefix = testPrefix();
    const { logger, records } = captureLogger();
    const bus = await openBus(config(prefix), { logger });
    t.after(() => bus.close());
    const got: BusMessage<DeviceStateMessage>[] = [];
    await bus.subscribe('device.state', (m) => void got.push(m), { group: 'malformed' });

    const subject = `${prefix}.device-state.dev-1`;
    const js = nc.jetstream();
    await js.publish(subject, new TextEncoder().encode('this is not JSON {'));
    await js.publish(subject, new TextEncoder().encode(JSON.stringify({ hello: 'no envelope' })));
    await js.publish(
      subject,
      new TextEncoder().encode(JSON.stringify({ id: 'x', publishedAt: 1, payload: {}, key: 'other' })),
    );
    await bus.publish('device.state', state('dev-1', 'valid'), { key: 'dev-1', id: 'valid-1' });

    await waitFor(() => got.length === 1, 'the valid message');
    await waitFor(() => bus.stats().malformed === 3, 'three malformed counted');
    assert.equal(got[0]?.id, 'valid-1');
    const warnings = records.filter((r) => String(r.msg).includes('malformed'));
    assert.equal(warnings.length, 3);
    assert.deepEqual(
      warnings.map((r) => r.reason),
      ['payload is not JSON', 'envelope has no id', 'envelope key differs from its subject'],
    );
    // Terminated, not left pending: nothing waits for redelivery on the consumer.
    const jsm = await nc.jetstreamManager();
    const [consumer] = await jsm.consumers.list(streamNameFor(prefix)).next();
    assert.ok(consumer, 'the group consumer exists');
    await waitForAsync(async () => {
      const info = await jsm.consumers.info(streamNameFor(prefix), consumer.name);
      return info.num_ack_pending === 0 && info.ack_floor.stream_seq === 4;
    }, 'all four stream messages acknowledged or terminated');
    const info = await jsm.consumers.info(streamNameFor(prefix), consumer.name);
    assert.equal(info.num_redelivered, 0, 'no malformed message was redelivered');
  });

  it('keeps at-least-once across restarts: acked messages are not redelivered, unacked ones are', async (t) => {
    const nc = await rawConnection(t);
    if (!nc) return;
    const prefix = testPrefix();
    const group = 'restart';

    // A short ack_wait: had the first instance not acked 'acked', the server would redeliver it soon.
    const ackWaitMs = 1000;
    // A long nak delay: 'unacked' comes back only after the first instance has gone.
    const bus1 = await openBus(config(prefix, { retryBackoffMs: 2000, ackWaitMs }), { logger: silentLogger() });
    const firstSeen: BusMessage<DeviceStateMessage>[] = [];
    await bus1.subscribe(
      'device.state',
      (m) => {
        firstSeen.push(m);
        if (m.id === 'unacked') throw new Error('crash before finishing');
      },
      { group },
    );
    await bus1.publish('device.state', state('d1', 'acked'), { key: 'd1', id: 'acked' });
    await bus1.publish('device.state', state('d2', 'unacked'), { key: 'd2', id: 'unacked' });
    await waitFor(() => firstSeen.length === 2, 'both at the first instance');
    await bus1.close();

    const bus2 = await openBus(config(prefix, { ackWaitMs }), { logger: silentLogger() });
    t.after(() => bus2.close());
    const secondSeen: BusMessage<DeviceStateMessage>[] = [];
    await bus2.subscribe('device.state', (m) => void secondSeen.push(m), { group });
    await bus2.publish('device.state', state('d1', 'next'), { key: 'd1', id: 'next' });
    await waitFor(
      () => secondSeen.some((m) => m.id === 'next') && secondSeen.some((m) => m.id === 'unacked'),
      'the new message and the unacked one at the new instance',
    );
    // The server agrees: nothing of the group is waiting for an ack or a delivery.
    const jsm = await nc.jetstreamManager();
    const consumer = consumerNameFor(group, 'device.state', undefined);
    await waitForAsync(async () => {
      const info = await jsm.consumers.info(streamNameFor(prefix), consumer);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, 'every message of the group acknowledged');
    await sleep(ackWaitMs + 500);
    assert.deepEqual(secondSeen.map((m) => m.id).sort(), ['next', 'unacked']);
    assert.equal(secondSeen.find((m) => m.id === 'unacked')?.deliveryCount, 2);
    assert.deepEqual(firstSeen.map((m) => m.id).sort(), ['acked', 'unacked']);
  });

  it('rejects publish with GW_ERR_BUS_UNAVAILABLE while the server is unreachable, and recovers', async (t) => {
    const nc = await rawConnection(t);
    if (!nc) return;
    const target = new URL(natsUrl().includes('://') ? natsUrl() : `nats://${natsUrl()}`);
    const forwarder = new Forwarder(target.hostname, Number(target.port || 4222));
    await forwarder.start();
    t.after(() => forwarder.stop());
    const { logger, records } = captureLogger();
    const bus = await openBus(
      config(testPrefix(), {
        servers: `nats://127.0.0.1:${forwarder.port}`,
        publishTimeoutMs: 1000,
        reconnectWaitMs: 100,
      }),
      { logger },
    );
    t.after(() => bus.close());
    const got: string[] = [];
    await bus.subscribe('device.state', (m) => void got.push(m.id), { group: 'survivor' });
    await bus.publish('device.state', state('d1', 'before'), { key: 'd1', id: 'before' });
    await waitFor(() => got.includes('before'), 'delivery before the cut');

    await forwarder.stop();
    await assert.rejects(
      bus.publish('device.state', state('d1', 'during'), { key: 'd1', id: 'during' }),
      isCode('GW_ERR_BUS_UNAVAILABLE'),
    );
    await forwarder.start(); // same port
    let recovered = false;
    for (let attempt = 0; attempt < 300 && !recovered; attempt++) {
      try {
        await bus.publish('device.state', state('d1', 'after'), { key: 'd1', id: 'after' });
        recovered = true;
      } catch (err) {
        assert.ok(isCode('GW_ERR_BUS_UNAVAILABLE')(err), 'only the unavailable error while reconnecting');
        await sleep(100);
      }
    }
    assert.ok(recovered, 'publish works again after the server came back');
    await waitFor(() => got.includes('after'), 'the durable subscription delivers after reconnect', 60_000);
    assert.ok(records.some((r) => String(r.msg).includes('lost its NATS connection')));
    // Closing while the server is gone again still finishes (the drain is bounded).
    await forwarder.stop();
    await bus.close();
  });

  it('rejects openBus with GW_ERR_BUS_UNAVAILABLE when no server listens', async () => {
    // A port just freed: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const address = probe.address();
    const port = address && typeof address === 'object' ? address.port : 1;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(
      openBus({ kind: 'nats', servers: `nats://127.0.0.1:${port}` }, { logger: silentLogger() }),
      isCode('GW_ERR_BUS_UNAVAILABLE'),
    );
  });

  it('rejects a prefix that is not subject-safe with GW_ERR_VALIDATION', async () => {
    await assert.rejects(
      openBus({ kind: 'nats', servers: natsUrl(), prefix: 'grid.seam' }, { logger: silentLogger() }),
      isCode('GW_ERR_VALIDATION'),
    );
  });

  it('names durable consumers per group, topic and key filter', async (t) => {
    const nc = await rawConnection(t);
    if (!nc) return;
    const prefix = testPrefix();
    const bus = (await openBus(config(prefix), { logger: silentLogger() })) as Bus as NatsBus;
    t.after(() => bus.close());
    const a = await bus.subscribe('device.state', () => undefined, { group: 'ops.team' });
    const b = await bus.subscribe('command', () => undefined, { group: 'ops.team' });
    const c = await bus.subscribe('command', () => undefined, { group: 'ops.team', key: 'inv-1' });
    const jsm = await nc.jetstreamManager();
    const names: string[] = [];
    const filters: string[] = [];
    for await (const info of jsm.consumers.list(streamNameFor(prefix))) {
      names.push(info.name);
      filters.push(info.config.filter_subject ?? '');
      assert.equal(info.config.ack_policy, 'explicit');
      assert.equal(info.config.max_deliver, 5);
    }
    assert.equal(names.length, 3);
    assert.ok(
      names.every((n) => /^ops_team-(device-state|command)-[0-9a-f]{12}$/.test(n)),
      names.join(','),
    );
    assert.deepEqual(filters.sort(), [`${prefix}.command.*`, `${prefix}.command.inv-1`, `${prefix}.device-state.*`]);
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});
