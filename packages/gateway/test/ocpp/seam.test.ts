/**
 * The OCPP seam's parts without sockets: the authority built from the config (who may connect,
 * what BootNotification answers) and the charging sessions kept in `store.documents`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChargingSession, StationInfo } from '@gridseam/ocpp';
import { type OcppSection, parseConfig, resolveStationPasswords, sha256Hex } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { configAuthority } from '../../src/seams/ocpp.ts';
import {
  MAX_SESSIONS_PER_DEVICE,
  mergeSessions,
  OCPP_SESSIONS_NAMESPACE,
  OcppSessionStore,
  readSessions,
} from '../../src/seams/ocpp-sessions.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

const logger = createLogger({ level: 'silent' });

function section(text: string): OcppSection {
  const config = parseConfig(`fleet: { sites: [{ id: s1, name: S }] }\nocpp:\n${text}`, 'gateway.yaml');
  assert.ok(config.ocpp);
  return config.ocpp;
}

function station(identity: string): StationInfo {
  return { identity, version: '1.6', vendor: 'V', model: 'M', evses: [] };
}

function session(transactionId: string, startedAt: number, state: 'active' | 'ended' = 'ended'): ChargingSession {
  return { transactionId, identity: 'CP-1', evseId: 1, startedAt, state };
}

describe('configAuthority', () => {
  test('profile 1: the configured password only, compared by digest; unknown identities refused', async () => {
    const config = section(`  securityProfile: 1
  stations: [{ identity: CP-1, siteId: s1, passwordSha256: ${sha256Hex('right-password-123')} }]`);
    const authority = configAuthority(config, resolveStationPasswords(config, {}), logger);
    assert.equal(await authority.authenticate('CP-1', Buffer.from('right-password-123'), undefined), true);
    assert.equal(await authority.authenticate('CP-1', Buffer.from('wrong-password-123'), undefined), false);
    assert.equal(await authority.authenticate('CP-1', Buffer.from(''), undefined), false);
    assert.equal(await authority.authenticate('CP-1', undefined, undefined), false);
    assert.equal(await authority.authenticate('CP-2', Buffer.from('right-password-123'), undefined), false);
    assert.equal(await authority.boot(station('CP-1')), 'Accepted');
  });

  test('profile 3: the certificate CN must be the identity', async () => {
    const config = section(`  securityProfile: 3
  tls: { certificate: c.pem, key: k.pem, ca: ca.pem }
  stations: [{ identity: CP-1, siteId: s1 }]`);
    const authority = configAuthority(config, new Map(), logger);
    assert.equal(await authority.authenticate('CP-1', undefined, 'CP-1'), true);
    assert.equal(await authority.authenticate('CP-1', undefined, 'CP-2'), false);
    assert.equal(await authority.authenticate('CP-1', undefined, undefined), false);
  });

  test('acceptUnknown (profile 0): unknown stations connect and are answered Pending, known ones Accepted', async () => {
    const config = section(`  acceptUnknown: true
  stations: [{ identity: CP-1, siteId: s1 }]`);
    const authority = configAuthority(config, new Map(), logger);
    assert.equal(await authority.authenticate('CP-1', undefined, undefined), true);
    assert.equal(await authority.authenticate('NEW-9', undefined, undefined), true);
    assert.equal(await authority.boot(station('NEW-9')), 'Pending');
    assert.equal(await authority.boot(station('CP-1')), 'Accepted');
    const strict = configAuthority(section('  stations: [{ identity: CP-1, siteId: s1 }]'), new Map(), logger);
    assert.equal(await strict.authenticate('NEW-9', undefined, undefined), false);
  });
});

describe('charging sessions in the store', () => {
  let store: Store;

  before(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' }, { logger });
    await store.migrate();
  });
  after(async () => {
    await store.close();
  });

  test('mergeSessions updates by transactionId, keeps start order and drops the oldest ended first', () => {
    const merged = mergeSessions(
      [session('a', 1), session('b', 2, 'active'), session('c', 3)],
      [{ ...session('b', 2), endedAt: 9 }, session('d', 4, 'active')],
      3,
    );
    assert.deepEqual(
      merged.map((s) => [s.transactionId, s.state]),
      [
        ['b', 'ended'],
        ['c', 'ended'],
        ['d', 'active'],
      ],
    );
    assert.equal(merged[0]?.endedAt, 9);
    const actives = mergeSessions([session('x', 1, 'active'), session('y', 2)], [session('z', 3, 'active')], 2);
    assert.deepEqual(
      actives.map((s) => s.transactionId),
      ['x', 'z'],
    );
  });

  test('recorded updates are coalesced into one document per device, bounded', async () => {
    const sessions = new OcppSessionStore(store, { flushDelayMs: 5, maxPerDevice: 3 });
    sessions.record('dev-1', session('t1', 10, 'active'));
    sessions.record('dev-1', { ...session('t1', 10), energyWh: 1200 });
    sessions.record('dev-2', session('u1', 20, 'active'));
    await sessions.flush();
    assert.deepEqual(await readSessions(store, 'dev-1'), [{ ...session('t1', 10), energyWh: 1200 }]);
    assert.equal((await readSessions(store, 'dev-2'))[0]?.state, 'active');
    for (let i = 0; i < 5; i++) sessions.record('dev-1', session(`n${i}`, 100 + i));
    await sessions.close();
    assert.deepEqual(
      (await readSessions(store, 'dev-1')).map((s) => s.transactionId),
      ['n2', 'n3', 'n4'],
    );
    assert.equal(await store.documents.count(OCPP_SESSIONS_NAMESPACE), 2);
    assert.deepEqual(await readSessions(store, 'nobody'), []);
    assert.ok(MAX_SESSIONS_PER_DEVICE >= 100);
  });
});
