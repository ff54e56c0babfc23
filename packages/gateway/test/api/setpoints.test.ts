import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Command } from '@gridseam/model';
import type { BusMessage, Subscription } from '../../src/bus/types.ts';
import { battery, type Harness, harness, json, pvInverter, site, T0 } from './support.ts';

describe('API setpoints and commands', () => {
  let h: Harness;
  let subscription: Subscription;
  const received: Array<BusMessage<Command>> = [];
  let firstDelivery: Promise<void>;

  before(async () => {
    h = await harness();
    for (const [url, payload] of [
      ['/api/sites', site()],
      ['/api/devices', battery('bat-1')],
      ['/api/devices', pvInverter('pv-1')],
    ] as const) {
      assert.equal((await h.call('operator', { method: 'POST', url, payload })).statusCode, 201);
    }
    let delivered: () => void = () => {};
    firstDelivery = new Promise((resolve) => {
      delivered = resolve;
    });
    subscription = await h.bus.subscribe('command', (message) => {
      received.push(message);
      delivered();
    });
  });
  after(async () => {
    await subscription.close();
    await h.close();
  });

  it('202 with a pending Command that is persisted, audited and published on "command"', {
    timeout: 20_000,
  }, async () => {
    const response = await h.call('operator', {
      method: 'POST',
      url: '/api/devices/bat-1/setpoints',
      payload: { kind: 'chargeLimit', value: 2500, durationS: 600 },
    });
    assert.equal(response.statusCode, 202, response.body);
    const command = json<Command>(response);
    assert.equal(command.status, 'pending');
    assert.equal(command.deviceId, 'bat-1');
    assert.equal(command.attempts, 0);
    assert.deepEqual(command.setpoint.source, { kind: 'operator', ref: 'operator-token' });
    assert.equal(command.setpoint.expiry, T0 + 600_000);
    assert.equal(response.headers.location, `/api/commands/${command.id}`);

    // Persisted: through the store and through the API.
    assert.deepEqual(await h.store.commands.get(command.id), command);
    const fetched = await h.call('viewer', { method: 'GET', url: `/api/commands/${command.id}` });
    assert.deepEqual(json(fetched), command);
    const listed = await h.call('viewer', { method: 'GET', url: '/api/devices/bat-1/commands?status=pending' });
    assert.deepEqual(
      json<Command[]>(listed).map((c) => c.id),
      [command.id],
    );

    // Audited.
    const audit = json<Array<{ action: string; actor: string; detail: Record<string, unknown> }>>(
      await h.call('admin', { method: 'GET', url: '/api/audit?targetType=device&targetId=bat-1' }),
    );
    const row = audit.find((a) => a.action === 'setpoint.create');
    assert.ok(row, JSON.stringify(audit));
    assert.equal(row.actor, 'operator-token');
    assert.equal(row.detail.commandId, command.id);

    // Published for the control engine.
    await firstDelivery;
    assert.equal(received.length, 1);
    assert.equal(received[0]?.topic, 'command');
    assert.equal(received[0]?.key, 'bat-1');
    assert.deepEqual(received[0]?.payload, command);

    const metrics = await h.metrics.getSingleMetricAsString('gridseam_api_setpoints_total');
    assert.match(metrics, /gridseam_api_setpoints_total\{kind="chargeLimit"\} 1/);
  });

  it('400 at /kind for a kind the device does not control; nothing is stored', async () => {
    const response = await h.call('operator', {
      method: 'POST',
      url: '/api/devices/pv-1/setpoints',
      payload: { kind: 'chargeLimit', value: 100, durationS: 60 },
    });
    assert.equal(response.statusCode, 400);
    const body = json<{ code: string; issues: Array<{ path: string; message: string }> }>(response);
    assert.equal(body.code, 'GW_ERR_VALIDATION');
    assert.deepEqual(
      body.issues.map((i) => i.path),
      ['/kind'],
    );
    assert.match(body.issues[0]?.message ?? '', /exportLimit, generationLimit/);
    assert.deepEqual(await h.store.commands.list({ deviceId: 'pv-1' }), []);
  });

  it('400 for a request without expiry or duration, with both, or with a bad value', async () => {
    for (const [payload, path] of [
      [{ kind: 'exportLimit', value: 100 }, '/expiry'],
      [{ kind: 'exportLimit', value: 100, durationS: 60, expiry: T0 + 60_000 }, '/expiry'],
      [{ kind: 'exportLimit', value: -1, durationS: 60 }, '/value'],
      [{ kind: 'exportLimit', value: '100', durationS: 60 }, '/value'],
      [{ kind: 'exportLimit', value: 100, durationS: 0 }, '/durationS'],
      [{ kind: 'beam', value: 1, durationS: 60 }, '/kind'],
    ] as const) {
      const response = await h.call('operator', { method: 'POST', url: '/api/devices/pv-1/setpoints', payload });
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.equal(json<{ issues: Array<{ path: string }> }>(response).issues[0]?.path, path, JSON.stringify(payload));
    }
  });

  it('404 for setpoints, commands and command lists of unknown devices or commands', async () => {
    for (const [method, url] of [
      ['POST', '/api/devices/ghost/setpoints'],
      ['GET', '/api/devices/ghost/commands'],
      ['GET', '/api/commands/ghost'],
    ] as const) {
      const response = await h.call('operator', {
        method,
        url,
        ...(method === 'POST' ? { payload: { kind: 'fixedW', value: 1, durationS: 1 } } : {}),
      });
      assert.equal(response.statusCode, 404, url);
      assert.equal(json(response).code, 'GW_ERR_NOT_FOUND');
    }
  });
});
