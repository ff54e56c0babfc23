/**
 * CommandExecutor against a real store (SQLite in memory), the memory bus and the registry that
 * creates commands, with fake adapters: the command lifecycle, its audit rows and the results
 * published on 'command.result'.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type Command, type DeviceAdapter, GridseamError } from '@gridseam/model';
import pino from 'pino';
import { openBus } from '../../src/bus/index.ts';
import type { Bus, CommandResultMessage } from '../../src/bus/types.ts';
import { CommandExecutor, directoryOf } from '../../src/edge/executor.ts';
import { FleetRegistry } from '../../src/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { CommandTransition, Store } from '../../src/store/types.ts';
import { BATTERY_DESCRIPTION, eventually, FakeAdapter } from './helpers.ts';

const logger = pino({ level: 'silent' });

describe('CommandExecutor', () => {
  let store: Store;
  let bus: Bus;
  let registry: FleetRegistry;
  let results: CommandResultMessage[];
  let executor: CommandExecutor | undefined;

  beforeEach(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' }, { logger });
    await store.migrate();
    bus = await openBus({ kind: 'memory' }, { logger });
    registry = new FleetRegistry({ store, bus });
    await registry.createSite({ id: 's1', name: 'Site' }, 'test');
    for (const id of ['bat-1', 'bat-2', 'elsewhere'])
      await registry.createDevice(
        {
          id,
          siteId: 's1',
          class: 'battery',
          adapter: { kind: 'sunspec-modbus', address: `tcp://127.0.0.1:502/${id.length}` },
          capabilities: BATTERY_DESCRIPTION.capabilities,
        },
        'test',
      );
    results = [];
    await bus.subscribe('command.result', (message) => {
      results.push(message.payload);
    });
  });

  afterEach(async () => {
    await executor?.close();
    executor = undefined;
    await bus.close();
    await store.close();
  });

  function start(
    adapters: Map<string, DeviceAdapter>,
    options: Partial<ConstructorParameters<typeof CommandExecutor>[0]> = {},
  ) {
    executor = new CommandExecutor({
      bus,
      store,
      adapters: directoryOf(adapters),
      logger,
      retryDelayMs: 1,
      ...options,
    });
    return executor.start();
  }

  async function settled(id: string): Promise<Command> {
    return eventually(async () => {
      const command = await store.commands.get(id);
      return command && !['pending', 'sent'].includes(command.status) ? command : undefined;
    }, `command ${id} to settle`);
  }

  async function auditOf(id: string) {
    return (await store.audit.list({ targetType: 'command', targetId: id })).map((a) => ({
      actor: a.actor,
      action: a.action,
      from: a.detail?.from,
      to: a.detail?.to,
    }));
  }

  test('a confirmed write: pending -> sent -> confirmed with the read-back, audited as edge, result published', async () => {
    const adapter = new FakeAdapter('bat-1');
    adapter.applyWith = async (setpoint) => ({
      readBack: { at: 1234, value: setpoint.value - 1 },
      detail: '704.WSet=2999',
    });
    await start(new Map([['bat-1', adapter]]));
    const command = await registry.submitSetpoint('bat-1', { kind: 'fixedW', value: 3000, durationS: 600 }, 'op');
    const done = await settled(command.id);

    assert.equal(done.status, 'confirmed');
    assert.equal(done.attempts, 1);
    assert.deepEqual(done.readBack, { at: 1234, value: 2999, matched: true });
    assert.deepEqual(
      done.history.map((h) => h.status),
      ['pending', 'sent', 'confirmed'],
    );
    assert.equal(done.history[2]?.detail, '704.WSet=2999');
    assert.equal(adapter.applied.length, 1);
    assert.equal(adapter.applied[0]?.id, command.setpoint.id);
    assert.deepEqual(await auditOf(command.id), [
      { actor: 'edge', action: 'command.transition', from: 'pending', to: 'sent' },
      { actor: 'edge', action: 'command.transition', from: 'sent', to: 'confirmed' },
    ]);
    const result = await eventually(() => results.find((r) => r.commandId === command.id), 'the result message');
    assert.deepEqual(result.readBack, { value: 2999, matched: true });
    assert.equal(result.status, 'confirmed');
    assert.equal(result.deviceId, 'bat-1');
  });

  test('a refused or ignored write becomes a failed command carrying the error code', async () => {
    const adapter = new FakeAdapter('bat-1');
    adapter.applyWith = async () => {
      throw new GridseamError(
        'GW_ERR_DEVICE_REJECTED',
        'unit 1: the device did not take fixedW 3000: 704.WSet wrote 3000 read 0',
      );
    };
    await start(new Map([['bat-1', adapter]]));
    const command = await registry.submitSetpoint('bat-1', { kind: 'fixedW', value: 3000, durationS: 600 }, 'op');
    const done = await settled(command.id);

    assert.equal(done.status, 'failed');
    assert.equal(done.attempts, 1, 'a refusal is not retried');
    assert.equal(done.error?.code, 'GW_ERR_DEVICE_REJECTED');
    assert.match(done.error?.message ?? '', /did not take fixedW 3000/);
    assert.equal(done.readBack, undefined);
    assert.deepEqual(await auditOf(command.id), [
      { actor: 'edge', action: 'command.transition', from: 'pending', to: 'sent' },
      { actor: 'edge', action: 'command.transition', from: 'sent', to: 'failed' },
    ]);
    const result = await eventually(() => results.find((r) => r.commandId === command.id), 'the result message');
    assert.deepEqual(result.error, done.error);
  });

  test('a retryable failure is tried again (sent -> sent) and can still be confirmed', async () => {
    const adapter = new FakeAdapter('bat-1');
    let calls = 0;
    adapter.applyWith = async (setpoint) => {
      calls++;
      if (calls === 1) throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'timeout');
      return { readBack: { at: 5, value: setpoint.value } };
    };
    await start(new Map([['bat-1', adapter]]));
    const command = await registry.submitSetpoint('bat-1', { kind: 'exportLimit', value: 2000, durationS: 600 }, 'op');
    const done = await settled(command.id);
    assert.equal(done.status, 'confirmed');
    assert.equal(done.attempts, 2);
    assert.deepEqual(
      done.history.map((h) => h.status),
      ['pending', 'sent', 'sent', 'confirmed'],
    );
    assert.deepEqual(
      (await auditOf(command.id)).map((a) => `${a.from}->${a.to}`),
      ['pending->sent', 'sent->sent', 'sent->confirmed'],
    );
  });

  test('a device that never answers fails the command after maxAttempts with the transport error', async () => {
    const adapter = new FakeAdapter('bat-1');
    adapter.applyWith = async () => {
      throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:502');
    };
    await start(new Map([['bat-1', adapter]]), { maxAttempts: 3 });
    const command = await registry.submitSetpoint('bat-1', { kind: 'fixedW', value: 100, durationS: 600 }, 'op');
    const done = await settled(command.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.attempts, 3);
    assert.equal(adapter.applied.length, 3);
    assert.deepEqual(done.error, { code: 'GW_ERR_DEVICE_UNREACHABLE', message: 'connect ECONNREFUSED 127.0.0.1:502' });
  });

  test('a command whose setpoint already expired is marked expired and never written', async () => {
    const adapter = new FakeAdapter('bat-1');
    // The executor's clock is two minutes ahead: the one-minute setpoint has run out.
    await start(new Map([['bat-1', adapter]]), { now: () => Date.now() + 120_000 });
    const command = await registry.submitSetpoint('bat-1', { kind: 'fixedW', value: 100, durationS: 60 }, 'op');
    const done = await settled(command.id);
    assert.equal(done.status, 'expired');
    assert.equal(done.attempts, 0);
    assert.equal(adapter.applied.length, 0);
    assert.deepEqual(await auditOf(command.id), [
      { actor: 'edge', action: 'command.transition', from: 'pending', to: 'expired' },
    ]);
    const result = await eventually(() => results.find((r) => r.commandId === command.id), 'the result message');
    assert.equal(result.status, 'expired');
  });

  test('commands for devices it does not drive are left alone; settled commands are not redone', async () => {
    const adapter = new FakeAdapter('bat-1');
    await start(new Map([['bat-1', adapter]]));
    const foreign = await registry.submitSetpoint('elsewhere', { kind: 'fixedW', value: 1, durationS: 600 }, 'op');
    const own = await registry.submitSetpoint('bat-1', { kind: 'fixedW', value: 2, durationS: 600 }, 'op');
    await settled(own.id);

    assert.equal(await executor?.execute(foreign), 'ignored');
    const stored = await store.commands.get(foreign.id);
    assert.equal(stored?.status, 'pending');
    assert.deepEqual(await auditOf(foreign.id), []);
    assert.deepEqual(
      adapter.applied.map((s) => s.value),
      [2],
    );
    // A re-delivery of a settled command does nothing.
    assert.equal(await executor?.execute(own), 'ignored');
    assert.equal(adapter.applied.length, 1);
    assert.equal(executor?.stats().confirmed, 1);
    assert.ok((executor?.stats().ignored ?? 0) >= 2);
  });

  /** The store's commands, recording every batch call and when it resolved (after its commit). */
  function recordingCommands(log: string[], failBatches = 0): Pick<Store, 'commands'> {
    let failures = failBatches;
    const commands: Store['commands'] = Object.create(store.commands);
    commands.getMany = async (ids) => {
      log.push(`read ${ids.length}`);
      return store.commands.getMany(ids);
    };
    commands.transitionMany = async (moves: readonly CommandTransition[]) => {
      if (failures > 0) {
        failures--;
        throw new GridseamError('GW_ERR_STORE_UNAVAILABLE', 'database unavailable (test)');
      }
      const outcomes = await store.commands.transitionMany(moves);
      log.push(`committed ${moves.map((m) => `${m.id}:${m.status}`).join(' ')}`);
      return outcomes;
    };
    return { commands };
  }

  test('moves made in one turn share a transaction; each result is published after its commit', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `pv-${i}`);
    for (const id of ids)
      await registry.createDevice(
        {
          id,
          siteId: 's1',
          class: 'battery',
          adapter: { kind: 'sunspec-modbus', address: `tcp://127.0.0.1:502/${id}` },
          capabilities: BATTERY_DESCRIPTION.capabilities,
        },
        'test',
      );
    // Every device answers at the same instant, once all of them have been written.
    let release: () => void = () => {};
    const allWritten = new Promise<void>((resolve) => {
      release = resolve;
    });
    const adapters = new Map<string, DeviceAdapter>();
    for (const id of ids) {
      const adapter = new FakeAdapter(id);
      adapter.applyWith = async (setpoint) => {
        if (adapters.size === ids.length && [...adapters.values()].every((a) => (a as FakeAdapter).applied.length > 0))
          release();
        await allWritten;
        return { readBack: { at: 1, value: setpoint.value } };
      };
      adapters.set(id, adapter);
    }
    const log: string[] = [];
    await bus.subscribe('command.result', (message) => {
      log.push(`result ${message.payload.commandId}:${message.payload.status}`);
    });
    await start(adapters, { store: recordingCommands(log), concurrency: 16 });
    const commands: Command[] = [];
    for (const id of ids)
      commands.push(await registry.submitSetpoint(id, { kind: 'fixedW', value: 100, durationS: 600 }, 'op'));
    for (const command of commands) assert.equal((await settled(command.id)).status, 'confirmed');
    await eventually(() => (results.length === ids.length ? true : undefined), 'every result');

    for (const command of commands) {
      assert.deepEqual(await auditOf(command.id), [
        { actor: 'edge', action: 'command.transition', from: 'pending', to: 'sent' },
        { actor: 'edge', action: 'command.transition', from: 'sent', to: 'confirmed' },
      ]);
      const committed = log.findIndex(
        (line) => line.startsWith('committed') && line.includes(`${command.id}:confirmed`),
      );
      const published = log.indexOf(`result ${command.id}:confirmed`);
      assert.ok(committed >= 0 && committed < published, `${command.id}: committed before its result`);
    }
    // The 12 confirmations arrived in one turn: one transaction (the default batch holds 32).
    const batches = log.filter((line) => line.startsWith('committed'));
    assert.ok(
      batches.some((line) => line.split(' ').length === ids.length + 1 && !line.includes(':sent')),
      batches.join('\n'),
    );
    assert.ok(batches.length < 2 * ids.length, `${batches.length} transactions for ${2 * ids.length} moves`);
    assert.ok(log.filter((line) => line.startsWith('read')).length < ids.length, 'reads are batched too');
  });

  test('a freed slot writes its next command before the rest of the wave is settled', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `w-${i}`);
    for (const id of ids)
      await registry.createDevice(
        {
          id,
          siteId: 's1',
          class: 'battery',
          adapter: { kind: 'sunspec-modbus', address: `tcp://127.0.0.1:502/${id}` },
          capabilities: BATTERY_DESCRIPTION.capabilities,
        },
        'test',
      );
    // The first four devices (a full wave of the four slots) answer together, once all are written.
    const wave = ids.slice(0, 4);
    let release: () => void = () => {};
    const allWritten = new Promise<void>((resolve) => {
      release = resolve;
    });
    const adapters = new Map<string, DeviceAdapter>();
    for (const id of ids) {
      const adapter = new FakeAdapter(id);
      if (wave.includes(id))
        adapter.applyWith = async (setpoint) => {
          if (wave.every((w) => (adapters.get(w) as FakeAdapter).applied.length > 0)) release();
          await allWritten;
          return { readBack: { at: 1, value: setpoint.value } };
        };
      adapters.set(id, adapter);
    }
    const log: string[] = [];
    await start(adapters, { store: recordingCommands(log), concurrency: 4, maxBatch: 1 });
    const commands: Command[] = [];
    for (const id of ids)
      commands.push(await registry.submitSetpoint(id, { kind: 'fixedW', value: 100, durationS: 600 }, 'op'));
    for (const command of commands) assert.equal((await settled(command.id)).status, 'confirmed');

    const commits = log.filter((line) => line.startsWith('committed'));
    const fifth = commits.indexOf(`committed ${commands[4]?.id}:sent`);
    const lastOfWave = Math.max(...commands.slice(0, 4).map((c) => commits.indexOf(`committed ${c.id}:confirmed`)));
    assert.ok(fifth >= 0 && fifth < lastOfWave, commits.join('\n'));
  });

  test('a batch the store cannot write fails every delivery in it, which can then be tried again', async () => {
    const adapters = new Map<string, DeviceAdapter>([
      ['bat-1', new FakeAdapter('bat-1')],
      ['bat-2', new FakeAdapter('bat-2')],
    ]);
    executor = new CommandExecutor({ bus, store: recordingCommands([], 1), adapters: directoryOf(adapters), logger });
    const first = await registry.submitSetpoint('bat-1', { kind: 'fixedW', value: 1, durationS: 600 }, 'op');
    const second = await registry.submitSetpoint('bat-2', { kind: 'fixedW', value: 2, durationS: 600 }, 'op');
    const outcomes = await Promise.allSettled([executor.execute(first), executor.execute(second)]);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.equal((outcome as PromiseRejectedResult).reason.code, 'GW_ERR_STORE_UNAVAILABLE');
    }
    assert.equal((await store.commands.get(first.id))?.status, 'pending');
    assert.deepEqual(await auditOf(first.id), []);
    assert.equal((adapters.get('bat-1') as FakeAdapter).applied.length, 0, 'nothing written before sent is stored');
    // The bus would deliver both again: now they go through.
    assert.deepEqual(await Promise.all([executor.execute(first), executor.execute(second)]), [
      'confirmed',
      'confirmed',
    ]);
    assert.equal(executor.stats().confirmed, 2);
  });

  test('a device it drives but cannot reach right now fails the command (never silently pending)', async () => {
    executor = new CommandExecutor({
      bus,
      store,
      adapters: { owns: (id) => id === 'bat-2', get: () => undefined },
      logger,
      retryDelayMs: 1,
      maxAttempts: 1,
    });
    await executor.start();
    const command = await registry.submitSetpoint('bat-2', { kind: 'fixedW', value: 5, durationS: 600 }, 'op');
    const done = await settled(command.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'GW_ERR_DEVICE_UNREACHABLE');
    assert.match(done.error?.message ?? '', /bat-2 is not connected/);
  });
});
