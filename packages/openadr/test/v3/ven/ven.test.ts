/**
 * The project's VEN (createVen3) against the project's VTN (createVtn) over real sockets on
 * 127.0.0.1, both versions: registration of the ven and its resources, an event a BL client creates
 * reaching the VEN as a canonical draft, modified mid-flight, deleted; webhooks (the VTN's echo
 * challenge, a notification triggering a sync with polling far away); a refused secret surfaced as
 * GW_ERR_UNAUTHORIZED without a crash; the VTN stopped (events kept, back-off) and started again on
 * the same store and port (the VEN registers again and catches up). Every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createVen3, type Ven3, type Ven3Options } from '../../../src/v3/ven/index.ts';
import { BL, capacityEvent, OTHER_VEN, Recorder, startTestVtn, VEN, VERSIONS, waitFor } from './support.ts';

const MINUTE = 60_000;

function venOptions(url: string, version: Ven3Options['version'], overrides: Partial<Ven3Options> = {}): Ven3Options {
  return {
    version,
    vtnUrl: url,
    venName: VEN.venName,
    credentials: { clientId: VEN.clientId, clientSecret: VEN.secret },
    resources: ['site-1-meter', 'bat-1'],
    programs: { DOE: { primacy: 10 } },
    targets: [{ target: 'bat-1', deviceIds: ['bat-1'] }],
    pollIntervalMs: 60_000,
    ...overrides,
  };
}

function startVen(
  t: { after: (fn: () => Promise<void>) => void },
  options: Ven3Options,
): { ven: Ven3; recorder: Recorder } {
  const ven = createVen3(options);
  const recorder = new Recorder(ven);
  t.after(() => ven.stop());
  return { ven, recorder };
}

for (const version of VERSIONS)
  describe(`VEN ${version} against the VTN`, () => {
    test('registers its ven and resources, once', async (t) => {
      const { url, vtn } = await startTestVtn(t, version);
      const { ven, recorder } = startVen(t, venOptions(url, version));
      await ven.start();
      assert.deepEqual(recorder.errors, []);
      const status = ven.status();
      assert.ok(status.venId, 'the ven object exists');
      assert.equal(status.online, true);
      assert.deepEqual(Object.keys(status.resources).sort(), ['bat-1', 'site-1-meter']);
      const vens = vtn.objects('ven');
      assert.deepEqual(
        vens.map((v) => v.venName),
        [VEN.venName],
      );
      assert.equal(vens[0]?.id, status.venId);
      const resources = vtn.objects('resource');
      assert.deepEqual(resources.map((r) => r.resourceName).sort(), ['bat-1', 'site-1-meter']);
      assert.ok(resources.every((r) => r.venID === status.venId));
      assert.ok((status.tokenExpiresAt ?? 0) > Date.now(), 'a token that has not expired');

      // A second VEN process with the same identity finds them and creates nothing more.
      const again = startVen(t, venOptions(url, version));
      await again.ven.start();
      assert.equal(again.ven.status().venId, status.venId);
      assert.equal(vtn.objects('ven').length, 1);
      assert.equal(vtn.objects('resource').length, 2);
    });

    test('an event created, modified mid-flight and deleted by BL reaches the VEN as canonical drafts', async (t) => {
      const { url, bl } = await startTestVtn(t, version);
      const program = await bl.create('/programs', { programName: 'DOE' });
      await bl.create('/programs', { programName: 'NotOurs' });
      const { ven, recorder } = startVen(t, venOptions(url, version));
      await ven.start();
      assert.deepEqual(
        recorder.programs.map((p) => [p.change, p.canonical.id, p.canonical.primacy, p.canonical.source]),
        [['created', `oadr3.program.${program.id}`, 10, 'openadr3']],
      );
      assert.deepEqual(ven.status().ignoredPrograms, ['NotOurs']);

      const start = Date.now() - MINUTE;
      const created = await bl.create('/events', capacityEvent(version, program.id, { start, limitsKw: [5, 3] }));
      await ven.syncNow();
      const first = recorder.changesOf(created.id);
      assert.equal(first.length, 1);
      assert.equal(first[0]?.change, 'created');
      const draft = first[0]?.draft.event;
      assert.equal(draft?.id, `oadr3.event.${created.id}`);
      assert.equal(draft?.programId, `oadr3.program.${program.id}`);
      assert.equal(draft?.externalId, created.id);
      assert.equal(draft?.primacy, 10);
      assert.deepEqual(draft?.targets, {});
      assert.deepEqual(
        draft?.intervals.map((i) => [i.start, i.durationS, i.signals]),
        [
          [Date.parse(new Date(start).toISOString()), 3600, [{ kind: 'exportLimit', value: 5000, unit: 'W' }]],
          [
            Date.parse(new Date(start).toISOString()) + 60 * MINUTE,
            3600,
            [{ kind: 'exportLimit', value: 3000, unit: 'W' }],
          ],
        ],
      );
      await ven.syncNow();
      assert.equal(recorder.changesOf(created.id).length, 1, 'an unchanged event is not announced again');

      // BL grants the target 'bat-1' on the VEN's battery resource (Definition §Object Privacy) ...
      const resourceId = ven.status().resources['bat-1'] ?? assert.fail('no resource bat-1');
      const venId = ven.status().venId ?? assert.fail('no ven');
      const grant = version === '3.1.0' ? ['bat-1'] : [{ type: 'RESOURCE_NAME', values: ['bat-1'] }];
      if (version === '3.1.0')
        await bl.put(`/resources/${resourceId}`, {
          objectType: 'BL_RESOURCE_REQUEST',
          clientID: VEN.clientId,
          resourceName: 'bat-1',
          venID: venId,
          targets: grant,
        });
      else
        await bl.put(`/vens/${venId}/resources/${resourceId}`, { resourceName: 'bat-1', venID: venId, targets: grant });
      // ... and modifies the event mid-flight: a lower limit, targeted at that resource.
      await new Promise((resolve) => setTimeout(resolve, 5)); // modificationDateTime moves on
      await bl.put(`/events/${created.id}`, {
        ...capacityEvent(version, program.id, { start, limitsKw: [1.5] }),
        targets: grant,
      });
      await ven.syncNow();
      const modified = recorder.changesOf(created.id)[1];
      assert.equal(modified?.change, 'modified');
      assert.deepEqual(
        modified?.draft.event.intervals.map((i) => i.signals[0]?.value),
        [1500],
      );
      assert.deepEqual(
        modified?.draft.event.targets,
        { deviceIds: ['bat-1'] },
        'the target map turned it into a device',
      );

      // Deleted: the VEN discards it (User Guide §7.9) and says so as a cancellation.
      await bl.remove(`/events/${created.id}`);
      await ven.syncNow();
      const deleted = recorder.changesOf(created.id)[2];
      assert.equal(deleted?.change, 'deleted');
      assert.equal(deleted?.draft.event.status, 'cancelled');
      assert.match(deleted?.draft.event.statusHistory[0]?.reason ?? '', /deleted/);
      assert.equal(ven.events().size, 0);
      assert.deepEqual(recorder.errors, []);
    });

    test('an event targeted at another VEN is not ours; one targeted at this VEN is', async (t) => {
      const { url, bl } = await startTestVtn(t, version);
      const program = await bl.create('/programs', { programName: 'DOE' });
      const start = Date.now();
      const theirs = await bl.create(
        '/events',
        capacityEvent(version, program.id, { start, limitsKw: [1], targets: [OTHER_VEN.venName] }),
      );
      const ours = await bl.create(
        '/events',
        capacityEvent(version, program.id, { start, limitsKw: [2], targets: [VEN.venName] }),
      );
      const { ven, recorder } = startVen(t, venOptions(url, version));
      await ven.start();
      assert.deepEqual(recorder.changesOf(theirs.id), []);
      assert.deepEqual(
        recorder.changesOf(ours.id).map((c) => [c.change, c.draft.event.targets]),
        [['created', {}]],
      );
    });

    test('webhooks: the echo challenge, then a notification brings a new event without polling', async (t) => {
      const { url, bl, vtn } = await startTestVtn(t, version);
      const program = await bl.create('/programs', { programName: 'DOE' });
      const { ven, recorder } = startVen(
        t,
        venOptions(url, version, { pollIntervalMs: 600_000, callback: { host: '127.0.0.1', port: 0 } }),
      );
      await ven.start();
      assert.deepEqual(recorder.errors, []);
      const status = ven.status();
      assert.equal(status.subscribed, true);
      assert.equal(status.subscriptionIds.length, 1);
      const subscriptions = vtn.objects('subscription');
      assert.equal(subscriptions.length, 1);
      assert.match(JSON.stringify(subscriptions[0]), new RegExp(ven.callbackUrl()?.replace(/[.?]/g, '\\$&') ?? 'none'));
      const syncs = recorder.syncs.length;

      const created = await bl.create(
        '/events',
        capacityEvent(version, program.id, { start: Date.now(), limitsKw: [7] }),
      );
      const change = await waitFor(() => recorder.changesOf(created.id)[0], 'the notified event');
      assert.equal(change.change, 'created');
      assert.ok(recorder.syncs.length > syncs, 'the notification triggered a sync');
      const counts = ven.status().callback;
      assert.ok((counts?.echoes ?? 0) >= 1, 'the VTN verified the callback URL with an echo');
      assert.ok((counts?.notifications ?? 0) >= 1, 'the VTN notified');
      assert.equal(counts?.refused, 0);
      await bl.remove(`/events/${created.id}`);
      await waitFor(() => recorder.changesOf(created.id)[1], 'the notified deletion');

      // A restarted VEN (same listen address) replaces the subscription of its earlier run (another secret path).
      await ven.stop();
      const port = Number(new URL(ven.callbackUrl() ?? assert.fail()).port);
      const second = startVen(
        t,
        venOptions(url, version, { pollIntervalMs: 600_000, callback: { host: '127.0.0.1', port } }),
      );
      await second.ven.start();
      const after = vtn.objects('subscription');
      assert.equal(after.length, 1, JSON.stringify(after));
      assert.notEqual(second.ven.callbackUrl(), ven.callbackUrl());
    });

    test('a refused secret is GW_ERR_UNAUTHORIZED, not a crash; nothing is registered', async (t) => {
      const { url, vtn } = await startTestVtn(t, version);
      const { ven, recorder } = startVen(
        t,
        venOptions(url, version, { credentials: { clientId: VEN.clientId, clientSecret: 'wrong' } }),
      );
      await ven.start();
      assert.equal(recorder.errors[0]?.code, 'GW_ERR_UNAUTHORIZED', recorder.errors[0]?.message);
      assert.equal(recorder.errors[0]?.details?.status, 401);
      assert.equal(ven.status().online, false);
      assert.equal(ven.status().failures, 1);
      assert.deepEqual(vtn.objects('ven'), []);
      const summary = await ven.syncNow();
      assert.equal(summary.ok, false);
      assert.equal(summary.error?.code, 'GW_ERR_UNAUTHORIZED');
    });

    test('no credentials against a VTN that wants a token: the API answer 401 is GW_ERR_UNAUTHORIZED', async (t) => {
      const { url } = await startTestVtn(t, version);
      const options = venOptions(url, version);
      delete options.credentials;
      const { ven, recorder } = startVen(t, options);
      await ven.start();
      assert.equal(recorder.errors.at(-1)?.code, 'GW_ERR_UNAUTHORIZED');
      assert.match(recorder.errors.at(-1)?.message ?? '', /GET \/(vens|programs): the VTN answered 401/);
    });

    test('a token is renewed before it expires', async (t) => {
      const { url, bl } = await startTestVtn(t, version, {
        overrides: {
          auth: {
            issuer: { kind: 'internal', key: { alg: 'HS256', secret: 'x'.repeat(40) }, tokenTtlSeconds: 6 },
            clients: [
              { clientId: BL.clientId, secret: BL.secret, role: 'bl' },
              { clientId: VEN.clientId, secret: VEN.secret, role: 'ven', venName: VEN.venName },
            ],
          },
        },
      });
      await bl.create('/programs', { programName: 'DOE' });
      const { ven, recorder } = startVen(t, venOptions(url, version));
      await ven.start();
      const first = ven.status().tokenExpiresAt ?? assert.fail('no token');
      // 6 s tokens are renewed once less than 5 s are left: after 1 s, the next sync takes a new one.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const summary = await ven.syncNow();
      assert.equal(summary.ok, true);
      assert.ok((ven.status().tokenExpiresAt ?? 0) > first, 'a new token with a later expiry');
      assert.deepEqual(recorder.errors, []);
    });

    test('the VTN goes away and comes back: events kept meanwhile, then caught up', async (t) => {
      const first = await startTestVtn(t, version);
      const program = await first.bl.create('/programs', { programName: 'DOE' });
      const running = await first.bl.create(
        '/events',
        capacityEvent(version, program.id, { start: Date.now(), limitsKw: [4], name: 'running' }),
      );
      const doomed = await first.bl.create(
        '/events',
        capacityEvent(version, program.id, { start: Date.now() + 60 * MINUTE, limitsKw: [2], name: 'doomed' }),
      );
      const { ven, recorder } = startVen(t, venOptions(first.url, version, { pollIntervalMs: 100, maxBackoffMs: 400 }));
      await ven.start();
      assert.equal(ven.events().size, 2);

      await first.vtn.close();
      const offline = await waitFor(() => (ven.status().failures >= 2 ? ven.status() : undefined), 'two failed syncs');
      assert.equal(offline.online, false);
      assert.equal(recorder.connection.at(-1), false);
      assert.ok(
        recorder.errors.some((e) => e.code === 'GW_ERR_DEVICE_UNREACHABLE'),
        'unreachable reported',
      );
      assert.equal(ven.events().size, 2, 'known events keep running while the VTN is away');
      assert.ok(
        recorder.events.every((c) => c.change === 'created'),
        'nothing was cancelled because the VTN went away',
      );

      // Meanwhile the utility's business logic changed things (same store, VTN down for the VEN).
      const second = await startTestVtn(t, version, { store: first.store, port: first.port });
      await second.bl.remove(`/events/${doomed.id}`);
      const fresh = await second.bl.create(
        '/events',
        capacityEvent(version, program.id, { start: Date.now(), limitsKw: [6], name: 'fresh' }),
      );
      await waitFor(() => (ven.status().online ? true : undefined), 'the VEN back online');
      await waitFor(() => recorder.changesOf(fresh.id)[0], 'the new event');
      await waitFor(() => recorder.changesOf(doomed.id)[1], 'the deletion');
      assert.equal(recorder.changesOf(doomed.id)[1]?.change, 'deleted');
      assert.equal(recorder.changesOf(running.id).length, 1, 'the running event was not disturbed');
      assert.deepEqual(recorder.connection, [false, true]);
      assert.equal(ven.status().venId, second.vtn.objects('ven')[0]?.id, 'the same ven, found again');
      assert.deepEqual([...ven.events().keys()].sort(), [fresh.id, running.id].sort());
    });
  });
