import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openBus } from '../../src/bus/index.ts';
import type { BusMessage, DeviceStateMessage } from '../../src/bus/types.ts';
import { busContract } from './contract.ts';
import { captureLogger, silentLogger, sleep, waitFor } from './support.ts';

busContract('memory', {
  open: () => openBus({ kind: 'memory', retryBackoffMs: 20 }, { logger: silentLogger() }),
});

function state(deviceId: string, detail: string): DeviceStateMessage {
  return { deviceId, at: Date.now(), online: true, detail };
}

describe('memory bus', () => {
  it('is the in-process kind', async () => {
    const bus = await openBus({ kind: 'memory' }, { logger: silentLogger() });
    assert.equal(bus.kind, 'memory');
    await bus.close();
  });

  it('logs a dead-lettered message with its id, topic and delivery count', async () => {
    const { logger, records } = captureLogger();
    const bus = await openBus({ kind: 'memory', retryBackoffMs: 5 }, { logger });
    try {
      await bus.subscribe(
        'command',
        () => {
          throw new Error('adapter offline');
        },
        { group: 'dispatch', maxDeliver: 2 },
      );
      const command = {
        id: 'cmd-1',
        deviceId: 'inv-1',
        setpoint: { kind: 'fixed-w', w: 1000 },
        status: 'pending',
        attempts: 0,
        createdAt: 1,
        updatedAt: 1,
        history: [],
      } as unknown as Parameters<typeof bus.publish<'command'>>[1];
      await bus.publish('command', command, { key: 'inv-1', id: 'cmd-1' });
      await waitFor(() => bus.stats().deadLettered === 1, 'dead letter');
      const record = records.find((r) => String(r.msg).includes('dead-lettered'));
      assert.ok(record, 'a dead-letter record was logged');
      assert.equal(record.id, 'cmd-1');
      assert.equal(record.topic, 'command');
      assert.equal(record.deliveryCount, 2);
      assert.equal(record.group, 'dispatch');
    } finally {
      await bus.close();
    }
  });

  it('bounds a group backlog, dropping the oldest and counting them', async () => {
    const bus = await openBus({ kind: 'memory', maxBacklog: 5 }, { logger: silentLogger() });
    try {
      const first = await bus.subscribe('telemetry', () => undefined, { group: 'store' });
      await first.close();
      for (let i = 0; i < 8; i++) await bus.publish('telemetry', { readings: [] }, { id: `t-${i}` });
      const got: string[] = [];
      await bus.subscribe('telemetry', (m) => void got.push(m.id), { group: 'store' });
      await waitFor(() => got.length === 5, 'the kept backlog');
      await sleep(100);
      assert.deepEqual(got, ['t-3', 't-4', 't-5', 't-6', 't-7']);
      assert.equal(bus.stats().overflowed, 3);
    } finally {
      await bus.close();
    }
  });

  it('gives a message waiting for its retry back to the group when its member closes', async () => {
    // A long backoff: the retry would only happen at the first member if close did not cut it short.
    const bus = await openBus({ kind: 'memory', retryBackoffMs: 60_000 }, { logger: silentLogger() });
    try {
      const failing: number[] = [];
      const sub1 = await bus.subscribe(
        'device.state',
        (m) => {
          failing.push(m.deliveryCount);
          throw new Error('first member fails');
        },
        { group: 'g' },
      );
      await bus.publish('device.state', state('d1', 'x'), { key: 'd1', id: 'handover' });
      await waitFor(() => failing.length === 1, 'first attempt');
      await sub1.close();
      const second: BusMessage<DeviceStateMessage>[] = [];
      await bus.subscribe('device.state', (m) => void second.push(m), { group: 'g' });
      await waitFor(() => second.length === 1, 'handover to the next member');
      assert.equal(second[0]?.id, 'handover');
      assert.equal(second[0]?.deliveryCount, 2, 'the count goes on across members');
      assert.deepEqual(failing, [1]);
    } finally {
      await bus.close();
    }
  });

  it('copies the payload at publish, so later changes by the publisher are not seen', async () => {
    const bus = await openBus({ kind: 'memory' }, { logger: silentLogger() });
    try {
      const got: DeviceStateMessage[] = [];
      await bus.subscribe('device.state', (m) => void got.push(m.payload));
      const payload = state('d1', 'original');
      await bus.publish('device.state', payload);
      payload.detail = 'changed';
      await waitFor(() => got.length === 1, 'delivery');
      assert.equal(got[0]?.detail, 'original');
    } finally {
      await bus.close();
    }
  });

  it('copies nested plain data deeply, so changes to inner objects and arrays are not seen either', async () => {
    const bus = await openBus({ kind: 'memory' }, { logger: silentLogger() });
    try {
      const got: unknown[] = [];
      await bus.subscribe('device.state', (m) => void got.push(m.payload));
      const payload = {
        ...state('d1', 'x'),
        nested: { list: [1, { deep: 'original' }], empty: null, missing: undefined },
      };
      await bus.publish('device.state', payload);
      payload.nested.list.push(2);
      (payload.nested.list[1] as { deep: string }).deep = 'changed';
      await waitFor(() => got.length === 1, 'delivery');
      assert.notEqual(got[0], payload);
      assert.deepEqual(got[0], {
        ...state('d1', 'x'),
        at: payload.at,
        nested: { list: [1, { deep: 'original' }], empty: null, missing: undefined },
      });
    } finally {
      await bus.close();
    }
  });

  it('copies data that is not plain (dates, maps, cycles) as structuredClone does, and refuses functions', async () => {
    const bus = await openBus({ kind: 'memory' }, { logger: silentLogger() });
    try {
      const got: Record<string, unknown>[] = [];
      await bus.subscribe('device.state', (m) => void got.push(m.payload as unknown as Record<string, unknown>));
      const when = new Date(1_700_000_000_000);
      const cyclic: Record<string, unknown> = { ...state('d1', 'x'), when, seen: new Map([['a', 1]]) };
      cyclic.self = cyclic;
      await bus.publish('device.state', cyclic as unknown as DeviceStateMessage);
      await waitFor(() => got.length === 1, 'delivery');
      const copy = got[0];
      assert.ok(copy?.when instanceof Date && copy.when !== when && copy.when.getTime() === when.getTime());
      assert.ok(copy?.seen instanceof Map && copy.seen.get('a') === 1);
      assert.equal(copy?.self, copy, 'the cycle is kept');
      await assert.rejects(
        bus.publish('device.state', { ...state('d1', 'x'), callback: () => 1 } as unknown as DeviceStateMessage),
        (error: unknown) => (error as { code?: string }).code === 'GW_ERR_VALIDATION',
      );
    } finally {
      await bus.close();
    }
  });

  it('runs different keys in parallel up to the concurrency limit', async () => {
    const bus = await openBus({ kind: 'memory' }, { logger: silentLogger() });
    try {
      let running = 0;
      let peak = 0;
      let done = 0;
      await bus.subscribe(
        'device.state',
        async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(20);
          running--;
          done++;
        },
        { concurrency: 3 },
      );
      for (let i = 0; i < 9; i++) await bus.publish('device.state', state(`d${i}`, 'x'), { key: `d${i}` });
      await waitFor(() => done === 9, 'all handled');
      assert.equal(peak, 3);
    } finally {
      await bus.close();
    }
  });
});
