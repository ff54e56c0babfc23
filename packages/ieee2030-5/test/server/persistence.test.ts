/**
 * Persistence through SepStateStore: a server restarted on the same store answers the same (EndDevices,
 * programs, controls with their status, default controls, Responses, MUPs, subscriptions, settings); a write
 * the store refuses is not acknowledged and changes nothing; corrupt stored records are refused at start.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { emitSep } from '../../src/codec/index.ts';
import { MemoryStateStore } from '../../src/server/memory-store.ts';
import { createUtilityServer } from '../../src/server/server.ts';
import { identity, location, makeClock, startServer, watts } from './helpers.ts';

describe('persistence', () => {
  test('a restart on the same store serves the same state', async () => {
    const store = new MemoryStateStore();
    const clock = makeClock();
    let env = await startServer({}, store, clock);
    const lfdi = identity(env.pki, 'device-1').lfdi;
    let bodies: string[];
    let deviceId: number;
    try {
      const admin = env.server.admin;
      deviceId = (await admin.registerEndDevice({ lfdi, pin: 222220 })).id;
      await admin.createProgram({ id: 'doe', description: 'doe', primacy: 3 });
      await admin.setDefaultControl({ programId: 'doe', base: { opModExpLimW: watts(1500) } });
      const first = await admin.createControl({
        programId: 'doe',
        start: clock.now + 100,
        duration: 600,
        base: { opModExpLimW: watts(5000) },
      });
      await admin.createControl({
        programId: 'doe',
        start: clock.now,
        duration: 900,
        base: { opModExpLimW: watts(0) },
      });
      await admin.cancelControl(first.controls[0]?.mRID as string);
      await admin.setPollRate('EndDeviceList', 77);
      const client = env.client('device-1');
      const controls = await client.fetch<{ DERControl: Array<{ mRID: string }> }>(
        `/edev/${deviceId}/derp/doe/derc?l=5`,
        'DERControlList',
      );
      const reply = await client.send(
        'POST',
        '/rsps/derc/rsp',
        emitSep('DERControlResponse', {
          endDeviceLFDI: lfdi,
          status: 1,
          subject: controls.DERControl[0]?.mRID as string,
        }),
      );
      assert.equal(reply.status, 201);
      const mup = await client.send(
        'POST',
        '/mup',
        emitSep('MirrorUsagePoint', {
          mRID: '12'.repeat(16),
          roleFlags: '03',
          serviceCategoryKind: 0,
          status: 1,
          deviceLFDI: lfdi,
        }),
      );
      assert.equal(mup.status, 201);
      const paths = [
        '/dcap',
        '/edev?l=5',
        `/edev/${deviceId}/rg`,
        `/edev/${deviceId}/derp/doe/derc?l=5`,
        `/edev/${deviceId}/derp/doe/dderc`,
        location(reply),
        '/mup?l=5',
      ];
      bodies = [];
      for (const path of paths) bodies.push((await client.get(path)).body);
      await env.close();

      env = await startServer({}, store, clock);
      const again = env.client('device-1');
      const after: string[] = [];
      for (const path of paths) {
        const reply2 = await again.get(path);
        assert.equal(reply2.status, 200, `${path} after restart`);
        after.push(reply2.body);
      }
      assert.deepEqual(after, bodies);
      // New ids continue after the stored ones.
      const next = await env.server.admin.registerEndDevice({ lfdi: identity(env.pki, 'device-2').lfdi });
      assert.ok(next.id > deviceId);
    } finally {
      await env.close();
    }
  });

  test('a write the store refuses is answered 503 and changes nothing', async () => {
    const store = new MemoryStateStore();
    const env = await startServer({ variances: { registration: 'in-band' } }, store);
    try {
      const id = identity(env.pki, 'device-1');
      store.failNextWrite = new Error('disk full');
      const body = emitSep('EndDevice', { lFDI: id.lfdi, sFDI: id.sfdi, changedTime: env.clock.now });
      const reply = await env.client('device-1').send('POST', '/edev', body);
      assert.equal(reply.status, 503);
      assert.equal(env.server.admin.getEndDevice(id.lfdi), undefined);
      store.failNextWrite = new Error('disk full');
      await assert.rejects(
        env.server.admin.createProgram({ id: 'p', description: 'p', primacy: 1 }),
        (error: unknown) => {
          return GridseamError.is(error) && error.code === 'GW_ERR_STORE_UNAVAILABLE';
        },
      );
      assert.deepEqual(env.server.admin.listPrograms(), []);
      // The next write works and reuses nothing half-done.
      const ok = await env.client('device-1').send('POST', '/edev', body);
      assert.equal(ok.status, 201);
      assert.equal(location(ok), `/edev/${env.server.admin.getEndDevice(id.lfdi)?.id}`);
    } finally {
      await env.close();
    }
  });

  test('a corrupt stored record stops the server from starting', async () => {
    const store = new MemoryStateStore();
    await store.write([{ kind: 'endDevice', id: '1', doc: { id: 1, lfdi: 42 } }]);
    await assert.rejects(
      createUtilityServer({ profile: 'csip', terminator: { header: 'x-client' } }, store),
      (error: unknown) => GridseamError.is(error) && error.code === 'GW_ERR_VALIDATION',
    );
  });
});
