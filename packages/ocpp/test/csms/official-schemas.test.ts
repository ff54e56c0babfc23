/**
 * "Every message sent and received validates against the official schemas in both directions."
 *
 * A scripted session per version between the CSMS and the ChargePointSimulator runs through a
 * recording WebSocket proxy on loopback, which keeps every frame as it crossed the wire. Each CALL
 * and CALLRESULT payload is then validated against the OCA JSON schemas as published (the
 * mobilityhouse copies in ../shared/specs/ocpp-schemas/v16 and v201), not against ocpp-rpc's
 * re-bundled draft-07 versions that strict mode uses on the wire, so the two schema sets check
 * each other.
 *
 * Schema dialects: the 2.0.1 files and the 1.6 Security Whitepaper files are draft-06 (ajv gets
 * the draft-06 meta-schema from ajv/dist/refs). The other 1.6 files are draft-04, and ajv-draft-04
 * is not installed: their `$schema` is dropped, after checking that they use none of the forms whose
 * meaning changed after draft-04 (`id` as a schema id, boolean exclusiveMinimum/exclusiveMaximum),
 * so the draft-07 reading is the draft-04 one. 1.6's `multipleOf: 0.1` is checked with a 1e-9
 * tolerance (ajv's multipleOfPrecision), because 8.1 / 0.1 is not an integer in binary floating
 * point although 8.1 is a multiple of 0.1 in the decimal the schema means.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';
import WebSocket, { WebSocketServer } from 'ws';
import type { OcppVersion } from '../../src/contract.ts';
import { ChargePointSimulator } from '../../src/simulator/index.ts';
import { startCsms } from './support.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const schemasDir = resolve(repoRoot, '../shared/specs/ocpp-schemas');
const SCHEMA_DIR_OF: Readonly<Record<OcppVersion, string>> = { '1.6': 'v16', '2.0.1': 'v201' };
const DRAFT_04 = 'http://json-schema.org/draft-04/schema#';

// ---------------------------------------------------------------------------------------------
// The wire, recorded

type Side = 'station' | 'csms';

interface Frame {
  connection: number;
  from: Side;
  text: string;
}

interface RecordingProxy {
  /** ws://127.0.0.1:PORT, in front of the CSMS. */
  url: string;
  frames: Frame[];
  close(): Promise<void>;
}

/** A close code that may be sent in a close frame (RFC 6455 §7.4); anything else becomes 1000. */
function sendableCode(code: number): number {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
    ? code
    : 1000;
}

/**
 * A WebSocket proxy on 127.0.0.1: each station connection opens one to `upstream` with the same
 * path, subprotocol and Authorization header, and every text frame either way is recorded before
 * it is passed on.
 */
async function recordingProxy(t: TestContext, upstream: string): Promise<RecordingProxy> {
  const frames: Frame[] = [];
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => protocols.values().next().value ?? false,
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  let connections = 0;
  server.on('connection', (station, request) => {
    const connection = ++connections;
    const authorization = request.headers.authorization;
    const csms = new WebSocket(`${upstream}${request.url ?? ''}`, station.protocol, {
      ...(authorization ? { headers: { authorization } } : {}),
    });
    const early: string[] = [];
    station.on('message', (data) => {
      const text = String(data);
      frames.push({ connection, from: 'station', text });
      if (csms.readyState === WebSocket.OPEN) csms.send(text);
      else early.push(text);
    });
    csms.on('open', () => {
      for (const text of early.splice(0)) csms.send(text);
    });
    csms.on('message', (data) => {
      const text = String(data);
      frames.push({ connection, from: 'csms', text });
      if (station.readyState === WebSocket.OPEN) station.send(text);
    });
    station.on('close', (code) => {
      if (csms.readyState === WebSocket.OPEN) csms.close(sendableCode(code));
      else csms.terminate();
    });
    csms.on('close', (code) => {
      if (station.readyState === WebSocket.OPEN) station.close(sendableCode(code));
    });
    station.on('error', () => csms.terminate());
    csms.on('error', () => station.terminate());
  });
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return { url: `ws://127.0.0.1:${port}`, frames, close };
}

// ---------------------------------------------------------------------------------------------
// OCPP-J frames (1.6 OCPP-J §4; 2.0.1 Part 4 §4): [2, id, action, payload] CALL,
// [3, id, payload] CALLRESULT, [4, id, code, description, details] CALLERROR.

interface Exchange {
  connection: number;
  caller: Side;
  action: string;
  request: unknown;
  response?: unknown;
  error?: unknown[];
}

/** Pairs every CALL with its answer; frames that are not OCPP-J messages are returned as problems. */
function exchangesOf(frames: readonly Frame[]): { exchanges: Exchange[]; problems: string[] } {
  const exchanges: Exchange[] = [];
  const problems: string[] = [];
  const open = new Map<string, Exchange>();
  for (const frame of frames) {
    let message: unknown;
    try {
      message = JSON.parse(frame.text);
    } catch {
      problems.push(`not JSON from ${frame.from}: ${frame.text.slice(0, 80)}`);
      continue;
    }
    if (!Array.isArray(message) || typeof message[1] !== 'string') {
      problems.push(`not an OCPP-J message from ${frame.from}: ${frame.text.slice(0, 80)}`);
      continue;
    }
    const [type, id] = message as [number, string];
    if (type === 2 && typeof message[2] === 'string' && message.length === 4) {
      const exchange: Exchange = {
        connection: frame.connection,
        caller: frame.from,
        action: message[2],
        request: message[3],
      };
      exchanges.push(exchange);
      open.set(`${frame.connection}/${frame.from}/${id}`, exchange);
      continue;
    }
    // An answer comes from the other side, to a CALL of that connection.
    const caller: Side = frame.from === 'station' ? 'csms' : 'station';
    const key = `${frame.connection}/${caller}/${id}`;
    const exchange = open.get(key);
    if (!exchange || (type !== 3 && type !== 4)) {
      problems.push(`unmatched message from ${frame.from}: ${frame.text.slice(0, 120)}`);
      continue;
    }
    open.delete(key);
    if (type === 3 && message.length === 3) exchange.response = message[2];
    else exchange.error = message.slice(2);
  }
  return { exchanges, problems };
}

// ---------------------------------------------------------------------------------------------
// The official schemas

/** Where a draft-04 schema uses a form whose meaning changed after draft-04 (JSON Pointer paths). */
function draft04Specifics(schema: unknown, path = ''): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap((item, i) => draft04Specifics(item, `${path}/${i}`));
  const found: string[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}/${keyword}`;
    if (keyword === 'id' && typeof value === 'string') found.push(`${at} (schema id)`);
    if ((keyword === 'exclusiveMinimum' || keyword === 'exclusiveMaximum') && typeof value === 'boolean')
      found.push(`${at} (boolean)`);
    if (keyword === 'properties' || keyword === 'definitions' || keyword === 'patternProperties') {
      // Children are schemas by name: a property called "id" is not the keyword.
      for (const [name, child] of Object.entries(value as Record<string, unknown>))
        found.push(...draft04Specifics(child, `${at}/${name}`));
    } else if (keyword !== 'enum' && keyword !== 'required' && keyword !== 'default') {
      found.push(...draft04Specifics(value, at));
    }
  }
  return found;
}

class OfficialSchemas {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly draft04Files: string[] = [];

  constructor(private readonly version: OcppVersion) {
    // strict: false, because the OCA files carry annotations ajv does not know (javaType, comment, tbc).
    this.ajv = new Ajv({ strict: false, allErrors: true, multipleOfPrecision: 9 });
    // ajv-formats is CommonJS: its plugin is the default export of the module object.
    formatsPlugin.default(this.ajv);
    const draft06 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-06.json') as AnySchemaObject;
    this.ajv.addMetaSchema(draft06);
  }

  /** The file of an action's request or response (1.6: Action.json / ActionResponse.json). */
  fileOf(action: string, direction: 'request' | 'response'): string {
    const name = direction === 'response' ? `${action}Response` : this.version === '1.6' ? action : `${action}Request`;
    return join(schemasDir, SCHEMA_DIR_OF[this.version], `${name}.json`);
  }

  /** Problems of `payload` against the official schema (a missing schema is one). */
  problems(action: string, direction: 'request' | 'response', payload: unknown): string[] {
    const file = this.fileOf(action, direction);
    let validate = this.compiled.get(file);
    if (!validate) {
      if (!existsSync(file)) return [`no official schema ${file}`];
      const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (schema.$schema === DRAFT_04) {
        const specifics = draft04Specifics(schema);
        if (specifics.length > 0) return [`${file} uses draft-04-only forms: ${specifics.join(', ')}`];
        delete schema.$schema;
        this.draft04Files.push(file);
      }
      validate = this.ajv.compile(schema);
      this.compiled.set(file, validate);
    }
    if (validate(payload)) return [];
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The scripted sessions

/** The CALLs each side must have sent in the script, per version. */
const SCRIPTED: Readonly<Record<OcppVersion, Readonly<Record<Side, readonly string[]>>>> = {
  '1.6': {
    station: [
      'BootNotification',
      'Heartbeat',
      'StatusNotification',
      'StartTransaction',
      'MeterValues',
      'StopTransaction',
    ],
    csms: [
      'ChangeConfiguration',
      'GetConfiguration',
      'SetChargingProfile',
      'GetCompositeSchedule',
      'ClearChargingProfile',
      'ChangeAvailability',
      'RemoteStartTransaction',
      'RemoteStopTransaction',
      'Reset',
    ],
  },
  '2.0.1': {
    station: ['BootNotification', 'Heartbeat', 'StatusNotification', 'TransactionEvent', 'MeterValues'],
    csms: [
      'SetVariables',
      'GetVariables',
      'SetChargingProfile',
      'GetCompositeSchedule',
      'ClearChargingProfile',
      'ChangeAvailability',
      'RequestStartTransaction',
      'RequestStopTransaction',
      'Reset',
    ],
  },
};

const SETTINGS: Readonly<Record<OcppVersion, { get: string[]; set: Record<string, string> }>> = {
  '1.6': {
    get: ['HeartbeatInterval', 'MeterValueSampleInterval', 'NoSuchKey'],
    set: { HeartbeatInterval: '240', NoSuchKey: 'x' },
  },
  '2.0.1': {
    get: ['OCPPCommCtrlr.HeartbeatInterval', 'SampledDataCtrlr.TxUpdatedInterval', 'NoSuch.Variable'],
    set: { 'OCPPCommCtrlr.HeartbeatInterval': '240', 'NoSuch.Variable': 'x' },
  },
};

const IDENTITY = 'SCHEMA-SIM';

for (const version of ['1.6', '2.0.1'] as OcppVersion[]) {
  describe(`OCPP ${version} on the wire against the official schemas`, () => {
    test('a full scripted session: every CALL and CALLRESULT, both directions, is valid', async (t) => {
      if (!existsSync(join(schemasDir, SCHEMA_DIR_OF[version]))) {
        t.skip(`${schemasDir} not found: the official schemas are not available`);
        return;
      }
      const { csms, events } = await startCsms(
        t,
        { stations: { [IDENTITY]: undefined } },
        { versions: [version], meterIntervalS: 1 },
      );
      const proxy = await recordingProxy(t, csms.url);
      const sim = new ChargePointSimulator({
        url: `${proxy.url}/ocpp`,
        identity: IDENTITY,
        version,
        evses: { count: 2, maxCurrentA: 32, phases: 3 },
        meterIntervalS: 1,
        speed: 10,
        seed: 11,
        retryFirstConnect: false,
        reconnectMinMs: 50,
        reconnectMaxMs: 100,
      });
      const simErrors: Error[] = [];
      sim.on('error', (error) => simErrors.push(error));
      t.after(() => sim.close());

      // Boot (and the CSMS's meter interval setting), status, a heartbeat.
      assert.equal(await sim.start(), true);
      await sim.waitForBoot();
      await events.next('booted');
      sim.sendHeartbeat();

      // A transaction with meter values, and meter values outside a transaction (EVSE 2 is idle).
      sim.plugIn(1, { energyNeedWh: 50_000, socPct: 25, capacityWh: 75_000, maxCurrentA: 32 });
      const first = await events.next('session', (e) => e.session.evseId === 1 && e.session.state === 'active');
      await events.next('readings', (e) => e.readings.some((r) => r.measurand === 'stateOfCharge'));
      sim.sendMeterValues(2);

      // Charging limits with composite schedule read-back, a schedule read in both units, clear.
      const start = Date.now();
      const station = await csms.setChargingLimit(IDENTITY, {
        evseId: 0,
        value: 10,
        unit: 'A',
        start,
        expiry: start + 600_000,
      });
      assert.equal(station.readBack, 10);
      const evse = await csms.setChargingLimit(IDENTITY, {
        evseId: 1,
        value: 5_000,
        unit: 'W',
        start,
        expiry: start + 600_000,
      });
      assert.equal(evse.readBack, 5_000);
      const inAmps = await csms.getCompositeSchedule(IDENTITY, 1, 900, 'A');
      assert.ok(inAmps.periods.length >= 1);
      await csms.getCompositeSchedule(IDENTITY, 0, 300, 'W');
      await csms.clearChargingLimit(IDENTITY, 1);
      await csms.clearChargingLimit(IDENTITY, 0);

      // Settings, read and written (one unknown key each way).
      const { get, set } = SETTINGS[version];
      const read = await csms.getSettings(IDENTITY, get);
      assert.match(read[get[0]!] ?? '', /^\d+$/);
      assert.equal(read[get[2]!], undefined);
      const written = await csms.setSettings(IDENTITY, set);
      assert.equal(written[Object.keys(set)[0]!], 'Accepted');

      // Availability, a remote start on EVSE 2, a remote stop on EVSE 1, a reset.
      assert.equal(await csms.changeAvailability(IDENTITY, 2, false), 'Accepted');
      assert.equal(await csms.changeAvailability(IDENTITY, 2, true), 'Accepted');
      assert.equal(await csms.remoteStart(IDENTITY, 2, 'REMOTE-TAG'), 'Accepted');
      const second = await events.next('session', (e) => e.session.evseId === 2 && e.session.state === 'active');
      assert.equal(await csms.remoteStop(IDENTITY, first.session.transactionId), 'Accepted');
      await events.next(
        'session',
        (e) => e.session.transactionId === first.session.transactionId && e.session.state === 'ended',
      );
      assert.equal(await csms.reset(IDENTITY, 'Soft'), version === '1.6' ? 'Accepted' : 'Scheduled');
      if (version === '2.0.1') {
        // OnIdle (what a 2.0.1 Soft reset is sent as) waits for the last transaction: end it.
        assert.equal(await csms.remoteStop(IDENTITY, second.session.transactionId), 'Accepted');
      }
      await events.next(
        'session',
        (e) => e.session.transactionId === second.session.transactionId && e.session.state === 'ended',
      );
      await events.next('booted', () => events.of('booted').length >= 2);
      await sim.waitForBoot();
      await sim.flush();

      // Every CALL answered before the recording is read.
      const settled = async (): Promise<ReturnType<typeof exchangesOf>> => {
        for (let attempt = 0; attempt < 250; attempt++) {
          const found = exchangesOf(proxy.frames);
          if (found.exchanges.every((e) => e.response !== undefined || e.error !== undefined)) return found;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return exchangesOf(proxy.frames);
      };
      const { exchanges, problems } = await settled();
      await sim.close();
      assert.deepEqual(problems, []);
      assert.deepEqual(simErrors, []);

      const schemas = new OfficialSchemas(version);
      const violations: string[] = [];
      let validated = 0;
      for (const exchange of exchanges) {
        const who = `${exchange.caller === 'station' ? 'station -> CSMS' : 'CSMS -> station'} ${exchange.action}`;
        for (const problem of schemas.problems(exchange.action, 'request', exchange.request))
          violations.push(`${who} CALL: ${problem}`);
        validated++;
        if (exchange.error) violations.push(`${who}: answered with CALLERROR ${JSON.stringify(exchange.error)}`);
        else if (exchange.response === undefined) violations.push(`${who}: never answered`);
        else {
          for (const problem of schemas.problems(exchange.action, 'response', exchange.response))
            violations.push(`${who} CALLRESULT: ${problem}`);
          validated++;
        }
      }
      assert.deepEqual(violations, []);
      // The checker bites: a payload missing required fields, and a timestamp without its zone.
      assert.notDeepEqual(schemas.problems('BootNotification', 'request', {}), []);
      assert.notDeepEqual(schemas.problems('Heartbeat', 'response', { currentTime: '2026-03-01T12:00:00' }), []);

      for (const side of ['station', 'csms'] as const) {
        const seen = new Set(exchanges.filter((e) => e.caller === side).map((e) => e.action));
        const missing = SCRIPTED[version][side].filter((action) => !seen.has(action));
        assert.deepEqual(missing, [], `CALLs from the ${side} the script should have produced`);
      }
      // Two connections: the one before the reset and the one after it.
      assert.deepEqual([...new Set(exchanges.map((e) => e.connection))], [1, 2]);
      t.diagnostic(
        `${version}: ${validated} payloads in ${exchanges.length} exchanges validated; draft-04 files read as draft-07: ${schemas.draft04Files.length}`,
      );
    });
  });
}

describe('reading the official schemas', () => {
  test('1.6 multipleOf 0.1: one-decimal limits pass, two-decimal ones do not', (t) => {
    if (!existsSync(join(schemasDir, 'v16'))) {
      t.skip(`${schemasDir} not found: the official schemas are not available`);
      return;
    }
    const schemas = new OfficialSchemas('1.6');
    const profile = (limit: number) => ({
      connectorId: 0,
      csChargingProfiles: {
        chargingProfileId: 1,
        stackLevel: 0,
        chargingProfilePurpose: 'ChargePointMaxProfile',
        chargingProfileKind: 'Relative',
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
      },
    });
    assert.deepEqual(schemas.problems('SetChargingProfile', 'request', profile(8.1)), []);
    assert.deepEqual(schemas.problems('SetChargingProfile', 'request', profile(0.3)), []);
    assert.equal(schemas.problems('SetChargingProfile', 'request', profile(8.15)).length, 1);
    assert.deepEqual(schemas.draft04Files, [schemas.fileOf('SetChargingProfile', 'request')]);
  });
});
