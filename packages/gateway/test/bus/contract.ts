/**
 * The bus contract suite: the same tests against every Bus implementation (memory, NATS).
 * Each test opens its own bus through the factory, so implementations can isolate tests
 * (the NATS factory gives each bus its own stream prefix).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { GridseamError } from '@gridseam/model';
import type { Bus, BusMessage, DeviceStateMessage, Subscription, Topic } from '../../src/bus/types.ts';
import { sleep, waitFor } from './support.ts';

export interface BusUnderTest {
  /** Why the implementation cannot run here (e.g. its server is unreachable); undefined when it can. */
  unavailable?: () => Promise<string | undefined>;
  /** A new bus, isolated from other tests' buses; its retry backoff should be short. */
  open: () => Promise<Bus>;
  /** Runs once after the suite: removes what the buses left behind. */
  cleanup?: () => Promise<void>;
}

/**
 * Time given to a wrong delivery to show itself before a test checks that it did not happen.
 * Not a timing assertion: a correct bus passes however slow the machine is.
 */
const SETTLE_MS = 300;

function state(deviceId: string, detail: string): DeviceStateMessage {
  return { deviceId, at: Date.now(), online: true, detail };
}

/** Collects what a subscription was handed. */
function recorder<T>() {
  const messages: BusMessage<T>[] = [];
  return {
    messages,
    handler: (message: BusMessage<T>) => {
      messages.push(message);
    },
    ids: () => messages.map((m) => m.id),
  };
}

function isCode(code: string) {
  return (err: unknown) => GridseamError.is(err) && err.code === code;
}

export function busContract(name: string, target: BusUnderTest): void {
  describe(`bus contract: ${name}`, () => {
    let skipReason: string | undefined;
    let probed = false;

    after(async () => {
      await target.cleanup?.();
    });

    /** Opens a bus for one test (closed after it), or skips the test when the bus cannot run here. */
    async function openFor(t: TestContext): Promise<Bus | undefined> {
      if (!probed) {
        skipReason = await target.unavailable?.();
        probed = true;
      }
      if (skipReason) {
        t.skip(skipReason);
        return undefined;
      }
      const bus = await target.open();
      t.after(() => bus.close());
      return bus;
    }

    it('delivers typed messages per topic with their envelope', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const states = recorder<DeviceStateMessage>();
      const results: BusMessage<{ commandId: string; status: string }>[] = [];
      await bus.subscribe('device.state', states.handler);
      await bus.subscribe('command.result', (message) => {
        results.push(message);
      });
      const before = Date.now();
      await bus.publish('device.state', state('inv-1', 'first'), { key: 'inv-1', id: 'state-1' });
      await bus.publish(
        'command.result',
        { commandId: 'cmd-1', deviceId: 'inv-1', status: 'confirmed', at: 1_700_000_000_000 },
        { key: 'inv-1' },
      );
      await bus.publish('device.state', state('inv-2', 'second'));
      await waitFor(() => states.messages.length === 2 && results.length === 1, 'both topics delivered');

      const [first, second] = states.messages;
      assert.equal(first?.id, 'state-1');
      assert.equal(first?.topic, 'device.state');
      assert.equal(first?.key, 'inv-1');
      assert.equal(first?.deliveryCount, 1);
      assert.equal(first?.payload.deviceId, 'inv-1');
      assert.equal(first?.payload.detail, 'first');
      assert.ok((first?.publishedAt ?? 0) >= before, 'publishedAt is set at publish');
      // No key: the default '_'; no id: a fresh UUID.
      assert.equal(second?.key, '_');
      assert.match(second?.id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(results[0]?.topic, 'command.result');
      assert.deepEqual(results[0]?.payload, {
        commandId: 'cmd-1',
        deviceId: 'inv-1',
        status: 'confirmed',
        at: 1_700_000_000_000,
      });
      await sleep(SETTLE_MS);
      assert.equal(states.messages.length, 2, 'device.state subscriber saw no other topic');
      assert.equal(results.length, 1, 'command.result subscriber saw no other topic');
    });

    it('filters on the key', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const onlyA = recorder<DeviceStateMessage>();
      const all = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', onlyA.handler, { key: 'dev-a' });
      await bus.subscribe('device.state', all.handler);
      await bus.publish('device.state', state('dev-a', '1'), { key: 'dev-a', id: 'a1' });
      await bus.publish('device.state', state('dev-b', '2'), { key: 'dev-b', id: 'b1' });
      await bus.publish('device.state', state('dev-a', '3'), { key: 'dev-a', id: 'a2' });
      await waitFor(() => all.messages.length === 3 && onlyA.messages.length === 2, 'keyed deliveries');
      await sleep(SETTLE_MS);
      assert.deepEqual(onlyA.ids(), ['a1', 'a2']);
      assert.deepEqual(new Set(all.ids()), new Set(['a1', 'b1', 'a2']));
    });

    it('takes any model id as a key, dots included, and filters on it exactly', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const dotted = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', dotted.handler, { key: 'site1.inv.2' });
      await bus.publish('device.state', state('site1.inv', '1'), { key: 'site1.inv', id: 'shorter' });
      await bus.publish('device.state', state('site1.inv.2.x', '2'), { key: 'site1.inv.2.x', id: 'longer' });
      await bus.publish('device.state', state('site1.inv.2', '3'), { key: 'site1.inv.2', id: 'exact' });
      await waitFor(() => dotted.messages.length === 1, 'the exact key');
      await sleep(SETTLE_MS);
      assert.deepEqual(dotted.ids(), ['exact']);
      assert.equal(dotted.messages[0]?.key, 'site1.inv.2');
    });

    it('gives an ephemeral subscription only messages published after it started', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      await bus.publish('device.state', state('d1', 'early'), { key: 'd1', id: 'early' });
      const late = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', late.handler);
      await bus.publish('device.state', state('d1', 'late'), { key: 'd1', id: 'late' });
      await waitFor(() => late.messages.length >= 1, 'the later message');
      await sleep(SETTLE_MS);
      // Same key: had 'early' been delivered it would have come first.
      assert.deepEqual(late.ids(), ['late']);
    });

    it('keeps a durable group position: messages published with no member are delivered to the next one', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const group = `resume-${randomUUID().slice(0, 8)}`;
      const first = recorder<DeviceStateMessage>();
      const sub1 = await bus.subscribe('device.state', first.handler, { group });
      await bus.publish('device.state', state('d1', '1'), { key: 'd1', id: 'm1' });
      await waitFor(() => first.messages.length === 1, 'm1 at the first member');
      await sub1.close();

      await bus.publish('device.state', state('d1', '2'), { key: 'd1', id: 'm2' });
      await bus.publish('device.state', state('d2', '3'), { key: 'd2', id: 'm3' });
      const second = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', second.handler, { group });
      await waitFor(() => second.messages.length === 2, 'm2 and m3 at the second member');
      await sleep(SETTLE_MS);
      assert.deepEqual(first.ids(), ['m1']);
      assert.deepEqual(second.ids().sort(), ['m2', 'm3']);
      assert.ok(
        second.messages.every((m) => m.deliveryCount === 1),
        'kept messages are first deliveries',
      );
    });

    it('splits a group between its members, each message to one of them', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const group = `split-${randomUUID().slice(0, 8)}`;
      const a = recorder<DeviceStateMessage>();
      const b = recorder<DeviceStateMessage>();
      // Slow handlers, so one member cannot take everything before the other asks.
      const slow =
        (record: (m: BusMessage<DeviceStateMessage>) => void) => async (m: BusMessage<DeviceStateMessage>) => {
          record(m);
          await sleep(20);
        };
      await bus.subscribe('device.state', slow(a.handler), { group, concurrency: 1 });
      await bus.subscribe('device.state', slow(b.handler), { group, concurrency: 1 });
      const total = 24;
      for (let i = 0; i < total; i++) {
        await bus.publish('device.state', state(`d${i % 4}`, String(i)), { key: `d${i % 4}`, id: `split-${i}` });
      }
      await waitFor(() => a.messages.length + b.messages.length >= total, 'every message at one member');
      await sleep(SETTLE_MS);
      const seen = [...a.ids(), ...b.ids()];
      assert.equal(seen.length, total, 'no message went to both members');
      assert.equal(new Set(seen).size, total, 'every message delivered once overall');
      assert.ok(
        a.messages.length > 0 && b.messages.length > 0,
        `both members got some (${a.messages.length}/${b.messages.length})`,
      );
    });

    it('gives every group every message', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const g1 = recorder<DeviceStateMessage>();
      const g2 = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', g1.handler, { group: `one-${randomUUID().slice(0, 8)}` });
      await bus.subscribe('device.state', g2.handler, { group: `two-${randomUUID().slice(0, 8)}` });
      const ids = Array.from({ length: 10 }, (_, i) => `each-${i}`);
      for (const id of ids) await bus.publish('device.state', state('d1', id), { key: 'd1', id });
      await waitFor(() => g1.messages.length === 10 && g2.messages.length === 10, 'both groups complete');
      await sleep(SETTLE_MS);
      // One key and one member per group: in publish order, each once.
      assert.deepEqual(g1.ids(), ids);
      assert.deepEqual(g2.ids(), ids);
    });

    for (const mode of ['ephemeral', 'group'] as const) {
      it(`redelivers after a handler throws, with deliveryCount incremented (${mode})`, async (t) => {
        const bus = await openFor(t);
        if (!bus) return;
        const counts: number[] = [];
        let handled: BusMessage<DeviceStateMessage> | undefined;
        await bus.subscribe(
          'device.state',
          (message) => {
            counts.push(message.deliveryCount);
            if (message.deliveryCount < 3) throw new Error(`transient failure ${message.deliveryCount}`);
            handled = message;
          },
          mode === 'group' ? { group: `retry-${randomUUID().slice(0, 8)}` } : {},
        );
        await bus.publish('device.state', state('d1', 'flaky'), { key: 'd1', id: 'flaky-1' });
        await waitFor(() => handled !== undefined, 'success on the third delivery');
        await sleep(SETTLE_MS);
        assert.deepEqual(counts, [1, 2, 3]);
        assert.equal(handled?.id, 'flaky-1');
        assert.equal(handled?.payload.detail, 'flaky');
        const stats = bus.stats();
        assert.equal(stats.failed, 2);
        assert.equal(stats.handled, 1);
        assert.equal(stats.deadLettered, 0);
      });
    }

    it('stops after maxDeliver failed deliveries and counts the message as dead-lettered', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const poisonCounts: number[] = [];
      const good: string[] = [];
      await bus.subscribe(
        'device.state',
        (message) => {
          if (message.id === 'poison') {
            poisonCounts.push(message.deliveryCount);
            throw new Error('always fails');
          }
          good.push(message.id);
        },
        { group: `dead-${randomUUID().slice(0, 8)}`, maxDeliver: 3 },
      );
      await bus.publish('device.state', state('d1', 'poison'), { key: 'd1', id: 'poison' });
      await waitFor(() => bus.stats().deadLettered === 1, 'the poison message dead-lettered');
      await bus.publish('device.state', state('d1', 'after'), { key: 'd1', id: 'after' });
      await waitFor(() => good.includes('after'), 'the next message on the key');
      await sleep(SETTLE_MS * 2);
      assert.deepEqual(poisonCounts, [1, 2, 3]);
      assert.deepEqual(good, ['after']);
      assert.equal(bus.stats().deadLettered, 1);
      assert.equal(bus.stats().failed, 3);
    });

    it('hands a message published twice with one id over once', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const ephemeral = recorder<DeviceStateMessage>();
      const grouped = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', ephemeral.handler);
      await bus.subscribe('device.state', grouped.handler, { group: `dedup-${randomUUID().slice(0, 8)}` });
      await bus.publish('device.state', state('d1', 'once'), { key: 'd1', id: 'same-id' });
      await bus.publish('device.state', state('d1', 'once again'), { key: 'd1', id: 'same-id' });
      await bus.publish('device.state', state('d1', 'sentinel'), { key: 'd1', id: 'sentinel' });
      await waitFor(
        () => ephemeral.ids().includes('sentinel') && grouped.ids().includes('sentinel'),
        'the sentinel at both subscribers',
      );
      await sleep(SETTLE_MS);
      assert.deepEqual(ephemeral.ids(), ['same-id', 'sentinel']);
      assert.deepEqual(grouped.ids(), ['same-id', 'sentinel']);
      assert.equal(ephemeral.messages[0]?.payload.detail, 'once', 'the first publish wins');
      assert.ok(bus.stats().duplicates >= 1, 'the duplicate is counted');
    });

    it('hands one subscriber the messages of a key one at a time, in publish order', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const keys = ['k-a', 'k-b', 'k-c'];
      const order = new Map<string, number[]>(keys.map((k) => [k, []]));
      const busy = new Set<string>();
      let overlaps = 0;
      let maxParallel = 0;
      let received = 0;
      await bus.subscribe(
        'device.state',
        async (message) => {
          if (busy.has(message.key)) overlaps++;
          busy.add(message.key);
          maxParallel = Math.max(maxParallel, busy.size);
          await sleep(Math.floor(Math.random() * 6));
          order.get(message.key)?.push(Number(message.payload.detail));
          busy.delete(message.key);
          received++;
        },
        { group: `order-${randomUUID().slice(0, 8)}` },
      );
      const perKey = 12;
      for (let i = 0; i < perKey * keys.length; i++) {
        const key = keys[i % keys.length] as string;
        await bus.publish('device.state', state(key, String(i)), { key, id: `order-${i}` });
      }
      await waitFor(() => received === perKey * keys.length, 'every ordered message');
      assert.equal(overlaps, 0, 'no two messages of one key were in a handler at once');
      for (const [index, key] of keys.entries()) {
        const expected = Array.from({ length: perKey }, (_, n) => n * keys.length + index);
        assert.deepEqual(order.get(key), expected, `order of ${key}`);
      }
      assert.ok(maxParallel >= 1);
    });

    it('stops delivery to a closed subscription, and close waits for the handler in flight', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const closing = recorder<DeviceStateMessage>();
      const control = recorder<DeviceStateMessage>();
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let handlerFinished = false;
      const sub: Subscription = await bus.subscribe('device.state', async (message) => {
        closing.handler(message);
        await gate;
        handlerFinished = true;
      });
      await bus.subscribe('device.state', control.handler);
      await bus.publish('device.state', state('d1', 'before'), { key: 'd1', id: 'before' });
      await waitFor(() => closing.messages.length === 1 && control.messages.length === 1, 'first message');

      let finishedWhenClosed: boolean | undefined;
      const closed = sub.close().then(() => {
        finishedWhenClosed = handlerFinished;
      });
      await sleep(50);
      assert.equal(finishedWhenClosed, undefined, 'close has not resolved while its handler runs');
      release();
      await closed;
      assert.equal(finishedWhenClosed, true, 'close resolved after the handler finished');

      await bus.publish('device.state', state('d1', 'after'), { key: 'd1', id: 'after' });
      await waitFor(() => control.messages.length === 2, 'the control subscriber got the later message');
      await sleep(SETTLE_MS);
      assert.deepEqual(closing.ids(), ['before']);
    });

    it('rejects publish and subscribe on a closed bus with GW_ERR_BUS_UNAVAILABLE', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      const seen = recorder<DeviceStateMessage>();
      await bus.subscribe('device.state', seen.handler, { group: `closed-${randomUUID().slice(0, 8)}` });
      await bus.close();
      await assert.rejects(bus.publish('device.state', state('d1', 'x')), isCode('GW_ERR_BUS_UNAVAILABLE'));
      await assert.rejects(bus.subscribe('device.state', seen.handler), isCode('GW_ERR_BUS_UNAVAILABLE'));
      await bus.close(); // a second close is harmless
    });

    it('rejects keys that are not subject-safe, unknown topics and bad options with GW_ERR_VALIDATION', async (t) => {
      const bus = await openFor(t);
      if (!bus) return;
      for (const key of ['a~b', 'a b', '*', '>', 'a>', '', 'tab\tkey', 'x'.repeat(129)]) {
        await assert.rejects(bus.publish('device.state', state('d1', 'x'), { key }), isCode('GW_ERR_VALIDATION'), key);
        await assert.rejects(
          bus.subscribe('device.state', () => undefined, { key }),
          isCode('GW_ERR_VALIDATION'),
          key,
        );
      }
      await assert.rejects(
        bus.publish('device.state', state('d1', 'x'), { id: 'has space' }),
        isCode('GW_ERR_VALIDATION'),
      );
      await assert.rejects(
        bus.subscribe('device.state', () => undefined, { maxDeliver: 0 }),
        isCode('GW_ERR_VALIDATION'),
      );
      await assert.rejects(
        bus.subscribe('device.state', () => undefined, { group: 'bad group' }),
        isCode('GW_ERR_VALIDATION'),
      );
      const unknownTopic = 'no.such.topic' as Topic;
      await assert.rejects(bus.publish(unknownTopic, state('d1', 'x')), isCode('GW_ERR_VALIDATION'));
      // Keys with ':' '-' '_' are fine (e.g. an LFDI or an OCPP id).
      await bus.publish('device.state', state('d1', 'ok'), { key: 'site_1:evse-2' });
    });
  });
}
