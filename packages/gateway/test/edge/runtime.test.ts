/**
 * EdgeRuntime with fake sources and adapters: devices are described, registered from what they
 * say about themselves (audited as 'edge'), polled; unreachable sources and devices are retried in
 * the background; a restart with nothing changed writes nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { openBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import { EdgeRuntime, type EdgeSource } from '../../src/edge/runtime.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { FakeAdapter, FakeClock, RecordingSink } from './helpers.ts';

const logger = pino({ level: 'silent' });

function sourceOf(name: string, adapters: FakeAdapter[], failOpens = 0): EdgeSource & { opens: number } {
  const source = {
    name,
    opens: 0,
    open: async () => {
      source.opens++;
      if (source.opens <= failOpens) throw new Error(`${name} refused the connection`);
      return adapters.map((adapter, i) => ({
        spec: {
          id: adapter.deviceId,
          siteId: 's1',
          pollIntervalMs: 1000,
          adapter: { kind: 'fake', address: `${name}/${i + 1}` },
        },
        adapter,
      }));
    },
  };
  return source;
}

describe('EdgeRuntime', () => {
  let store: Store;
  let bus: Bus;
  let registry: FleetRegistry;
  let runtime: EdgeRuntime | undefined;

  beforeEach(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' }, { logger });
    await store.migrate();
    bus = await openBus({ kind: 'memory' }, { logger });
    registry = new FleetRegistry({ store, bus });
    await registry.createSite({ id: 's1', name: 'Site' }, 'test');
  });

  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await bus.close();
    await store.close();
  });

  function create(sources: EdgeSource[], clock: FakeClock, sink: RecordingSink) {
    runtime = new EdgeRuntime(sources, {
      registry,
      store,
      bus,
      logger,
      concurrency: 8,
      sink,
      clock,
      random: () => 0,
      retryInitialMs: 1000,
      retryMaxMs: 8000,
    });
    return runtime;
  }

  test('registers each device from its own description and polls it', async () => {
    const clock = new FakeClock(1_000_000);
    const sink = new RecordingSink();
    const a = new FakeAdapter('bat-a');
    const b = new FakeAdapter('bat-b');
    b.description = { ...b.description, serial: 'SN-B', model: 'FB-2' };
    const report = await create([sourceOf('tcp://host:502', [a, b])], clock, sink).start();
    assert.deepEqual(report, { running: ['bat-a', 'bat-b'], retrying: [] });

    const stored = await store.devices.get('bat-b');
    assert.equal(stored?.class, 'battery');
    assert.equal(stored?.serial, 'SN-B');
    assert.equal(stored?.model, 'FB-2');
    assert.equal(stored?.manufacturer, 'Fake');
    assert.deepEqual(stored?.adapter, { kind: 'fake', address: 'tcp://host:502/2' });
    assert.deepEqual(stored?.capabilities, b.description.capabilities);
    const audit = await store.audit.list({ actor: 'edge' });
    assert.deepEqual(
      audit.map((e) => [e.action, e.targetId]),
      [
        ['device.create', 'bat-a'],
        ['device.create', 'bat-b'],
      ],
    );

    await clock.advance(2000);
    assert.deepEqual(a.polls, [1_000_000, 1_001_000, 1_002_000]);
    assert.equal(sink.batches.filter((x) => x.deviceId === 'bat-b').length, 3);
    assert.deepEqual(
      runtime?.devices().map((d) => [d.id, d.state, d.health]),
      [
        ['bat-a', 'running', 'ok'],
        ['bat-b', 'running', 'ok'],
      ],
    );
  });

  test('an unreachable source and a device that cannot be described are retried with back-off', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const late = new FakeAdapter('late');
    const shy = new FakeAdapter('shy');
    shy.describeFailures = 2;
    const down = sourceOf('tcp://down:502', [late], 2);
    const report = await create([down, sourceOf('tcp://up:502', [shy])], clock, sink).start();
    assert.deepEqual(report.running, []);
    assert.deepEqual(report.retrying.sort(), ['shy', 'tcp://down:502']);
    assert.equal(await store.devices.get('late'), undefined);

    await clock.advance(1000); // source retry 1 (fails), shy's describe retry 1 (fails)
    assert.equal(down.opens, 2);
    assert.equal(await store.devices.get('shy'), undefined);
    assert.equal(runtime?.devices().find((d) => d.id === 'shy')?.lastError?.code, 'GW_ERR_DEVICE_UNREACHABLE');

    await clock.advance(2000); // back-off doubled: both succeed at t = 3000
    assert.equal(down.opens, 3);
    assert.equal((await store.devices.get('late'))?.class, 'battery');
    assert.equal((await store.devices.get('shy'))?.class, 'battery');
    assert.deepEqual(
      runtime
        ?.devices()
        .map((d) => [d.id, d.state])
        .sort(),
      [
        ['late', 'running'],
        ['shy', 'running'],
      ],
    );
    await clock.advance(1000);
    assert.ok(late.polls.length >= 1 && shy.polls.length >= 1, 'both are polled once up');
  });

  test('start() waits for slow sources only up to startWaitMs; they finish in the background', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const slowAdapter = new FakeAdapter('slow-1');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: EdgeSource = {
      name: 'tcp://slow:502/1..247',
      open: async () => {
        await gate; // e.g. probing 247 absent unit ids, one timeout each
        return [
          {
            spec: { id: 'slow-1', siteId: 's1', pollIntervalMs: 1000, adapter: { kind: 'fake', address: 'x/1' } },
            adapter: slowAdapter,
          },
        ];
      },
    };
    runtime = new EdgeRuntime([slow, sourceOf('tcp://fast:502', [new FakeAdapter('fast-1')])], {
      registry,
      store,
      bus,
      logger,
      concurrency: 8,
      sink,
      clock,
      random: () => 0,
      startWaitMs: 10_000,
    });
    const starting = runtime.start();
    await clock.advance(10_000);
    const report = await starting;
    assert.deepEqual(report, { running: ['fast-1'], retrying: ['tcp://slow:502/1..247'] });
    assert.equal(await store.devices.get('slow-1'), undefined);
    release();
    await clock.advance(0);
    assert.equal((await store.devices.get('slow-1'))?.class, 'battery');
    await clock.advance(1000);
    assert.ok(slowAdapter.polls.length >= 1);
  });

  test('a restart with an unchanged device writes nothing; operator fields survive a changed description', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    await create([sourceOf('tcp://h:502', [new FakeAdapter('bat-a')])], clock, sink).start();
    await runtime?.close();

    const stored = await store.devices.get('bat-a');
    assert.ok(stored);
    await registry.updateDevice({ ...stored, name: 'Garage battery', labels: { room: 'garage' } }, 'op');

    await create([sourceOf('tcp://h:502', [new FakeAdapter('bat-a')])], clock, sink).start();
    await runtime?.close();
    assert.deepEqual(
      (await store.audit.list({ actor: 'edge' })).map((e) => e.action),
      ['device.create'],
      'nothing changed: no second write',
    );

    const changed = new FakeAdapter('bat-a');
    changed.description = { ...changed.description, model: 'FB-1 rev B' };
    await create([sourceOf('tcp://h:502', [changed])], clock, sink).start();
    const updated = await store.devices.get('bat-a');
    assert.equal(updated?.model, 'FB-1 rev B');
    assert.equal(updated?.name, 'Garage battery');
    assert.deepEqual(updated?.labels, { room: 'garage' });
    assert.deepEqual(
      (await store.audit.list({ actor: 'edge' })).map((e) => e.action),
      ['device.create', 'device.update'],
    );
  });

  test('a device disabled in the registry is registered but not polled; close() closes the adapters', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const adapter = new FakeAdapter('bat-a');
    await registry.createDevice(
      {
        id: 'bat-a',
        siteId: 's1',
        class: 'battery',
        enabled: false,
        adapter: { kind: 'fake', address: 'tcp://h:502/1' },
        capabilities: adapter.description.capabilities,
      },
      'op',
    );
    await create([sourceOf('tcp://h:502', [adapter])], clock, sink).start();
    await clock.advance(5000);
    assert.deepEqual(adapter.polls, []);
    assert.equal(runtime?.devices()[0]?.state, 'disabled');
    await runtime?.close();
    assert.equal(adapter.closed, true);
  });
});
