/**
 * In-band registration (CSIP IG §6.1.4; IEEE 2030.5 §6.11.3): a client configured 'in-band' POSTs its
 * EndDevice when the EndDeviceList lacks it and then finds it; against a server in the out-of-band model
 * the POST is refused (403), reported as a poll failure, and not repeated on every poll.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSepClient, MemoryClientStateStore, type PollReport, type SepClient } from '../../src/client/index.ts';
import { sfdiFromLfdi } from '../../src/identity/lfdi.ts';
import { identity, startServer, type TestServer } from '../server/helpers.ts';

function client(env: TestServer, name: string): { client: SepClient; polls: PollReport[] } {
  const id = identity(env.pki, name);
  const sep = createSepClient(
    {
      dcapUrl: `https://127.0.0.1:${env.port}/dcap`,
      mode: 'direct',
      registration: 'in-band',
      tls: { key: id.keyPem, cert: id.certificatePem, ca: env.pki.ca.certificatePem, timeoutMs: 5000 },
    },
    {
      now: () => env.clock.now,
      store: new MemoryClientStateStore(),
      setTimer: () => () => undefined,
      random: () => 0.5,
    },
  );
  const polls: PollReport[] = [];
  sep.on('poll', (report) => polls.push(report));
  return { client: sep, polls };
}

describe('2030.5 client: in-band registration', () => {
  let inBand: TestServer;
  let outOfBand: TestServer;
  const clients: SepClient[] = [];

  before(async () => {
    inBand = await startServer({ variances: { registration: 'in-band' } });
    outOfBand = await startServer({ variances: { registration: 'out-of-band' } });
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await inBand.close();
    await outOfBand.close();
  });

  test('an unregistered device POSTs its EndDevice and then discovers it', async () => {
    const lfdi = identity(inBand.pki, 'device-1').lfdi;
    assert.equal(inBand.server.admin.getEndDevice(lfdi), undefined, 'not registered beforehand');
    const { client: sep, polls } = client(inBand, 'device-1');
    clients.push(sep);
    await sep.start();
    const record = inBand.server.admin.getEndDevice(lfdi);
    assert.ok(
      record,
      `the server holds the EndDevice the client POSTed: ${JSON.stringify(polls.map((p) => p.failures.map((f) => f.message)))}`,
    );
    assert.equal(record.registeredBy, 'in-band');
    assert.equal(record.sfdi, sfdiFromLfdi(lfdi));
    assert.deepEqual(
      sep.endDevices().map((device) => device.lfdi),
      [lfdi.toLowerCase()],
    );
    assert.equal(polls.at(-1)?.ok, true, JSON.stringify(polls.at(-1)?.failures.map((f) => f.message)));
    // Registered once: a later poll does not POST again.
    const count = inBand.server.admin.listEndDevices().length;
    inBand.clock.advance(600);
    await sep.sync({ force: true });
    assert.equal(inBand.server.admin.listEndDevices().length, count);
  });

  test('the out-of-band model refuses the POST: a reported failure, retried only after the dcap pollRate', async () => {
    const lfdi = identity(outOfBand.pki, 'device-2').lfdi;
    const { client: sep, polls } = client(outOfBand, 'device-2');
    clients.push(sep);
    await sep.start().catch(() => undefined);
    assert.equal(outOfBand.server.admin.getEndDevice(lfdi), undefined);
    const failures = polls.flatMap((poll) => poll.failures.map((failure) => failure.code));
    assert.ok(failures.includes('GW_ERR_DEVICE_REJECTED'), `failures: ${failures.join(', ')}`);
    assert.deepEqual(sep.endDevices(), []);
    const codesOfLastPoll = () => (polls.at(-1)?.failures ?? []).map((failure) => failure.code);
    // At once again: not re-POSTed (the list still lacks it: not found).
    await sep.sync({ force: true }).catch(() => undefined);
    assert.ok(!codesOfLastPoll().includes('GW_ERR_DEVICE_REJECTED'), codesOfLastPoll().join(', '));
    assert.ok(codesOfLastPoll().includes('GW_ERR_NOT_FOUND'), codesOfLastPoll().join(', '));
    // After the DeviceCapability's pollRate (default 900 s) it tries again.
    outOfBand.clock.advance(3600);
    await sep.sync({ force: true }).catch(() => undefined);
    assert.ok(codesOfLastPoll().includes('GW_ERR_DEVICE_REJECTED'), codesOfLastPoll().join(', '));
  });
});
