import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import type { Reading } from '@gridseam/model';
import { openStore } from '../../src/store/index.ts';
import { PIPELINED_BATCHES, startRetention, TelemetryWriter } from '../../src/telemetry/writer.ts';

const reading = (ts: number, deviceId = 'd1'): Reading => ({
  deviceId,
  ts,
  measurand: 'activePower',
  value: ts % 7,
  unit: 'W',
});
const readings = (from: number, count: number) => Array.from({ length: count }, (_, i) => reading(from + i));

/** A sink that records each batch; `hold` makes writes wait until released; `failNext` fails one write. */
class FakeSink {
  batches: Reading[][] = [];
  failNext: Error | undefined;
  hold = false;
  active = 0;
  maxActive = 0;
  #release: Array<() => void> = [];

  async write(batch: readonly Reading[]): Promise<number> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.hold) await new Promise<void>((resolve) => this.#release.push(resolve));
      const failure = this.failNext;
      this.failNext = undefined;
      if (failure) throw failure;
      this.batches.push([...batch]);
      return batch.length;
    } finally {
      this.active--;
    }
  }

  release(): void {
    this.hold = false;
    for (const resolve of this.#release.splice(0)) resolve();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('TelemetryWriter', () => {
  test('commits one batch when batchSize readings from several producers are buffered', async () => {
    const sink = new FakeSink();
    const writer = new TelemetryWriter(sink, { batchSize: 5, flushIntervalMs: 60_000 });
    try {
      const a = writer.add(readings(0, 3));
      await tick();
      assert.equal(sink.batches.length, 0);
      assert.equal(writer.buffered, 3);
      const b = writer.add(readings(100, 2));
      await Promise.all([a, b]);
      assert.deepEqual(sink.batches, [[...readings(0, 3), ...readings(100, 2)]]);
      // Below batchSize again: nothing is written until a flush or the interval.
      const c = writer.add(readings(200, 1));
      await tick();
      assert.equal(sink.batches.length, 1);
      await writer.flush();
      await c;
      assert.deepEqual(sink.batches[1], readings(200, 1));
    } finally {
      await writer.close();
    }
  });

  test('commits a partial batch flushIntervalMs after its first reading', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sink = new FakeSink();
    const writer = new TelemetryWriter(sink, { batchSize: 100, flushIntervalMs: 1000 });
    let done = false;
    const added = writer.add(readings(0, 3)).then(() => {
      done = true;
    });
    t.mock.timers.tick(999);
    await tick();
    assert.equal(sink.batches.length, 0);
    assert.equal(done, false);
    t.mock.timers.tick(1);
    await added;
    assert.deepEqual(sink.batches, [readings(0, 3)]);
    await writer.close();
  });

  test('add resolves only after the store has committed', async () => {
    const sink = new FakeSink();
    sink.hold = true;
    const writer = new TelemetryWriter(sink, { batchSize: 2, flushIntervalMs: 60_000 });
    let acknowledged = false;
    const added = writer.add(readings(0, 2)).then(() => {
      acknowledged = true;
    });
    await tick();
    await tick();
    assert.equal(sink.active, 1);
    assert.equal(acknowledged, false);
    sink.release();
    await added;
    assert.equal(acknowledged, true);
    await writer.close();
  });

  test('a failed write rejects every add of that batch, and only those', async () => {
    const sink = new FakeSink();
    const writer = new TelemetryWriter(sink, { batchSize: 4, flushIntervalMs: 60_000 });
    const failure = new Error('disk full');
    sink.failNext = failure;
    const a = writer.add(readings(0, 2));
    const b = writer.add(readings(10, 2));
    await assert.rejects(a, (error) => error === failure);
    await assert.rejects(b, (error) => error === failure);
    assert.deepEqual(sink.batches, []);
    await writer.add(readings(20, 4));
    assert.deepEqual(sink.batches, [readings(20, 4)]);
    await writer.close();
  });

  test('batches are written one at a time, in arrival order; one add is never split', async () => {
    const sink = new FakeSink();
    sink.hold = true;
    const writer = new TelemetryWriter(sink, { batchSize: 3, flushIntervalMs: 60_000 });
    const adds = [
      writer.add(readings(0, 3)),
      writer.add(readings(10, 2)),
      writer.add(readings(20, 2)),
      writer.add(readings(30, 7)),
    ];
    await tick();
    sink.release();
    await Promise.all(adds);
    await writer.flush();
    assert.equal(sink.maxActive, 1);
    assert.deepEqual(sink.batches, [readings(0, 3), readings(10, 2), readings(20, 2), readings(30, 7)]);
    await writer.close();
  });

  test('a store that applies writes in call order gets up to PIPELINED_BATCHES batches at once, still in order', async () => {
    const sink = Object.assign(new FakeSink(), { appliesWritesInOrder: true });
    sink.hold = true;
    const writer = new TelemetryWriter(sink, { batchSize: 2, flushIntervalMs: 60_000 });
    const adds = Array.from({ length: PIPELINED_BATCHES + 3 }, (_, i) => writer.add(readings(i * 10, 2)));
    let acknowledged = 0;
    for (const add of adds) void add.then(() => acknowledged++);
    await tick();
    // Nothing is acknowledged before its commit, and no more than the window is in the store's hands.
    assert.equal(sink.active, PIPELINED_BATCHES);
    assert.equal(acknowledged, 0);
    const flushed = writer.flush();
    sink.release();
    await flushed;
    assert.equal(acknowledged, adds.length);
    assert.equal(sink.maxActive, PIPELINED_BATCHES);
    assert.deepEqual(
      sink.batches,
      adds.map((_, i) => readings(i * 10, 2)),
    );
    await writer.close();
  });

  test('a failed batch among pipelined ones rejects only its own producers', async () => {
    const sink = Object.assign(new FakeSink(), { appliesWritesInOrder: true });
    const writer = new TelemetryWriter(sink, { batchSize: 2, flushIntervalMs: 60_000 });
    const failure = new Error('disk full');
    sink.failNext = failure;
    const first = writer.add(readings(0, 2));
    const second = writer.add(readings(10, 2));
    await assert.rejects(first, (error) => error === failure);
    await second;
    assert.deepEqual(sink.batches, [readings(10, 2)]);
    await writer.close();
  });

  test('close flushes what is buffered, then refuses more', async () => {
    const sink = new FakeSink();
    const writer = new TelemetryWriter(sink, { batchSize: 1000, flushIntervalMs: 60_000 });
    const added = writer.add(readings(0, 10));
    await writer.close();
    await added;
    assert.deepEqual(sink.batches, [readings(0, 10)]);
    await assert.rejects(writer.add(readings(50, 1)), { code: 'GW_ERR_STORE_UNAVAILABLE' });
  });

  test('with a real store: everything acknowledged from concurrent producers is stored', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    try {
      await store.migrate();
      const writer = new TelemetryWriter(store.telemetry, { batchSize: 250, flushIntervalMs: 5 });
      const producers = Array.from({ length: 8 }, (_, p) =>
        (async () => {
          for (let i = 0; i < 20; i++)
            await writer.add(readings(p * 10_000 + i * 10, 10).map((r) => ({ ...r, deviceId: `d${p}` })));
        })(),
      );
      await Promise.all(producers);
      await writer.close();
      for (let p = 0; p < 8; p++) {
        const stored = await store.telemetry.query({ deviceId: `d${p}`, measurand: 'activePower', from: 0, to: 1e9 });
        assert.equal(stored.length, 200);
      }
    } finally {
      await store.close();
    }
  });
});

describe('startRetention', () => {
  test('prunes at once and then every interval with the retention cut-off; stop waits for a running prune', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const cutoffs: number[] = [];
    let finishPrune: (() => void) | undefined;
    const store = {
      telemetry: {
        prune: (olderThan: number) =>
          new Promise<number>((resolve) => {
            cutoffs.push(olderThan);
            finishPrune = () => resolve(3);
          }),
      },
    };
    const now = 100 * 86_400_000;
    const stop = startRetention(store as never, { retentionDays: 30, intervalMs: 60_000, now: () => now });
    t.mock.timers.tick(0);
    assert.deepEqual(cutoffs, [70 * 86_400_000]);
    // A prune still running is not overlapped by the next interval.
    t.mock.timers.tick(60_000);
    assert.equal(cutoffs.length, 1);
    finishPrune?.();
    await tick();
    t.mock.timers.tick(60_000);
    assert.equal(cutoffs.length, 2);
    let stopped = false;
    const stopping = stop().then(() => {
      stopped = true;
    });
    await tick();
    assert.equal(stopped, false);
    finishPrune?.();
    await stopping;
    t.mock.timers.tick(600_000);
    assert.equal(cutoffs.length, 2);
  });

  test('a failing prune is logged and retried at the next interval', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    let calls = 0;
    const warnings: unknown[] = [];
    const store = {
      telemetry: {
        prune: async () => {
          calls++;
          if (calls === 1) throw new Error('database is locked');
          return 0;
        },
      },
    };
    const logger = { warn: (...args: unknown[]) => warnings.push(args), info: mock.fn() };
    const stop = startRetention(store as never, { retentionDays: 1, intervalMs: 1000, logger: logger as never });
    t.mock.timers.tick(0);
    await tick();
    assert.equal(warnings.length, 1);
    t.mock.timers.tick(1000);
    await tick();
    assert.equal(calls, 2);
    await stop();
  });
});
