/**
 * The package's ChargePointSimulator against createCsms over every security profile, both
 * versions, on loopback: profile 2 (wss:// + Basic; the simulator trusts the CSMS's CA) and
 * profile 3 (mutual TLS; the simulator's client certificate names its identity) get in, boot and
 * report; wrong passwords (profiles 1 and 2), a client certificate from another CA or naming
 * another station (profile 3) and a station that does not trust the server's CA (profile 2) are
 * refused. A refusal crashes neither side: the simulator reports it as an 'error' event, and the
 * CSMS goes on serving the stations that did get in.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { after, before, describe, test } from 'node:test';
import type { OcppVersion } from '../../src/contract.ts';
import { ChargePointSimulator, type ChargePointSimulatorOptions } from '../../src/simulator/index.ts';
import { createTestPki, type TestPki } from './pki.ts';
import { endpointOf, type StartedCsms, startCsms } from './support.ts';

const EV = { energyNeedWh: 30_000, socPct: 30, capacityWh: 60_000, maxCurrentA: 16 } as const;

interface Simulated {
  sim: ChargePointSimulator;
  errors: Array<Error & { code?: string; details?: Record<string, unknown> }>;
}

function simulator(
  t: TestContext,
  started: StartedCsms,
  options: Omit<ChargePointSimulatorOptions, 'url' | 'retryFirstConnect'>,
): Simulated {
  const sim = new ChargePointSimulator({
    url: endpointOf(started.csms),
    meterIntervalS: 1,
    speed: 60,
    evses: { count: 2 },
    callTimeoutMs: 5_000,
    retryFirstConnect: false,
    ...options,
  });
  const errors: Simulated['errors'] = [];
  sim.on('error', (error) => errors.push(error));
  t.after(() => sim.close());
  return { sim, errors };
}

/** A station that got in: boots, runs a session the CSMS sees with readings, answers a command. */
async function connectsAndWorks(started: StartedCsms, { sim, errors }: Simulated): Promise<void> {
  const { csms, events } = started;
  assert.equal(await sim.start(), true, `connected (errors: ${errors.map((e) => e.message).join('; ')})`);
  await sim.waitForBoot();
  const booted = await events.next('booted', (e) => e.station.identity === sim.identity);
  assert.equal(booted.station.version, sim.version);
  sim.plugIn(1, EV);
  const session = await events.next('session', (e) => e.session.identity === sim.identity);
  assert.equal(session.session.evseId, 1);
  await events.next(
    'readings',
    (e) => e.identity === sim.identity && e.readings.some((r) => r.measurand === 'energyImported'),
  );
  const key = sim.version === '1.6' ? 'HeartbeatInterval' : 'OCPPCommCtrlr.HeartbeatInterval';
  const settings = await csms.getSettings(sim.identity, [key]);
  assert.match(settings[key] ?? '', /^\d+$/);
  assert.deepEqual(errors, []);
}

/** A station that is refused: start() resolves false, the simulator reports one error, the CSMS never lists it. */
async function refused(
  started: StartedCsms,
  { sim, errors }: Simulated,
  code: string,
): Promise<Simulated['errors'][0]> {
  assert.equal(await sim.start(), false);
  assert.equal(sim.connected, false);
  assert.equal(sim.registration, undefined);
  assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
  const error = errors[0]!;
  assert.equal(error.code, code, error.message);
  assert.ok(!started.csms.connected().includes(sim.identity));
  await sim.close();
  return error;
}

describe('ChargePointSimulator over the security profiles', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.dispose());

  for (const version of ['1.6', '2.0.1'] as OcppVersion[]) {
    describe(`OCPP ${version}`, () => {
      test('profile 1: a wrong password is refused with 401, the right one gets in', async (t) => {
        const started = await startCsms(t, { stations: { 'SIM-1': 'pass-one-1' } }, { securityProfile: 1 });
        const wrong = await refused(
          started,
          simulator(t, started, { identity: 'SIM-1', version, password: 'pass-one-2' }),
          'GW_ERR_UNAUTHORIZED',
        );
        assert.equal(wrong.details?.httpStatus, 401);
        await connectsAndWorks(started, simulator(t, started, { identity: 'SIM-1', version, password: 'pass-one-1' }));
        assert.deepEqual(started.csms.connected(), ['SIM-1']);
      });

      test('profile 2 (TLS + Basic): the right password over wss:// gets in; a wrong password and an untrusted server are refused', async (t) => {
        const started = await startCsms(
          t,
          { stations: { 'SIM-2': 'pass-two-1', 'SIM-2B': 'pass-two-2' } },
          { securityProfile: 2, tls: { cert: pki.serverEc.cert, key: pki.serverEc.key } },
        );
        assert.match(started.csms.url, /^wss:\/\//);
        const good = simulator(t, started, {
          identity: 'SIM-2',
          version,
          password: 'pass-two-1',
          tls: { ca: pki.ca },
        });
        await connectsAndWorks(started, good);

        const wrong = await refused(
          started,
          simulator(t, started, { identity: 'SIM-2B', version, password: 'pass-two-1', tls: { ca: pki.ca } }),
          'GW_ERR_UNAUTHORIZED',
        );
        assert.equal(wrong.details?.httpStatus, 401);

        // The station trusts another CA only: it refuses the CSMS's certificate and never sends a password.
        const heard = started.authority.seen.length;
        const untrusting = await refused(
          started,
          simulator(t, started, { identity: 'SIM-2B', version, password: 'pass-two-2', tls: { ca: pki.rogueCa } }),
          'GW_ERR_DEVICE_UNREACHABLE',
        );
        assert.match(untrusting.message, /certificate/i);
        assert.equal(started.authority.seen.length, heard, 'the CSMS never heard the password');

        // The CSMS is unharmed: the station that got in still answers, and is still the only one.
        assert.deepEqual(started.csms.connected(), ['SIM-2']);
        assert.equal(await started.csms.changeAvailability('SIM-2', 2, false), 'Accepted');
        assert.equal(good.sim.status(2), 'Unavailable');
      });

      test('profile 3 (mutual TLS): a certificate naming the station gets in; another CA or another CN is refused', async (t) => {
        const started = await startCsms(
          t,
          { stations: { 'SIM-3': undefined, 'SIM-3B': undefined } },
          { securityProfile: 3, tls: { cert: pki.serverRsa.cert, key: pki.serverRsa.key, ca: pki.ca } },
        );
        const mine = await pki.client('SIM-3');
        const good = simulator(t, started, { identity: 'SIM-3', version, tls: { ca: pki.ca, ...mine } });
        await connectsAndWorks(started, good);
        assert.deepEqual(started.authority.seen.at(-1), {
          identity: 'SIM-3',
          password: undefined,
          certificateCn: 'SIM-3',
        });

        // A valid certificate of this CA that names another station: refused with 401 after the handshake.
        const otherCn = await refused(
          started,
          simulator(t, started, { identity: 'SIM-3B', version, tls: { ca: pki.ca, ...mine } }),
          'GW_ERR_UNAUTHORIZED',
        );
        assert.equal(otherCn.details?.httpStatus, 401);

        // A certificate with the right CN from another CA: refused in the TLS handshake, before any HTTP.
        const heard = started.authority.seen.length;
        const foreign = await pki.foreignClient('SIM-3B');
        await refused(
          started,
          simulator(t, started, { identity: 'SIM-3B', version, tls: { ca: pki.ca, ...foreign } }),
          'GW_ERR_DEVICE_UNREACHABLE',
        );
        assert.equal(started.authority.seen.length, heard, 'the authority never heard of the forged certificate');

        assert.deepEqual(started.csms.connected(), ['SIM-3']);
        const start = Date.now();
        const outcome = await started.csms.setChargingLimit('SIM-3', {
          evseId: 0,
          value: 8,
          unit: 'A',
          start,
          expiry: start + 600_000,
        });
        assert.equal(outcome.readBack, 8);
        assert.equal(good.sim.limitNow(1), 8);
      });
    });
  }
});
