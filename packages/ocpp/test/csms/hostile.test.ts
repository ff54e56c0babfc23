/**
 * Hostile and broken input, sent as raw WebSocket frames (the `ws` library) and raw HTTP: the CSMS
 * answers with CALLERRORs or closes the socket, refuses bad upgrade requests with an HTTP status,
 * and keeps serving other stations; it never crashes.
 */
import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import type { Csms } from '../../src/contract.ts';
import { connectAndBoot, endpointOf, rejectsWith, startCsms, station } from './support.ts';

/** A station speaking raw OCPP-J frames, with a queue of the frames it received. */
class RawStation {
  readonly socket: WebSocket;
  private readonly inbox: unknown[] = [];
  private waiting: ((frame: unknown) => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, protocol: string) {
    this.socket = new WebSocket(url, [protocol]);
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(data));
      } catch {
        frame = String(data);
      }
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(frame);
      } else this.inbox.push(frame);
    });
    this.closed = new Promise((resolve) =>
      this.socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_request, response) => reject(new Error(String(response.statusCode))));
    });
  }

  send(frame: string): void {
    this.socket.send(frame);
  }

  next(timeoutMs = 3_000): Promise<unknown> {
    if (this.inbox.length > 0) return Promise.resolve(this.inbox.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame')), timeoutMs);
      this.waiting = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
    });
  }
}

async function rawStation(csms: Csms, identity: string, protocol = 'ocpp1.6'): Promise<RawStation> {
  const raw = new RawStation(`${endpointOf(csms)}/${identity}`, protocol);
  await raw.open();
  return raw;
}

/** Sends raw HTTP and returns the status line's code. */
function rawHttp(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (chunk) => {
      text += String(chunk);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
  });
}

function upgradeRequest(path: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n'
  );
}

async function stillServes(t: Parameters<typeof startCsms>[0], csms: Csms): Promise<void> {
  const good = station(t, csms, 'GOOD');
  assert.equal((await connectAndBoot(good)).status, 'Accepted');
}

describe('hostile frames', () => {
  test('non-JSON, wrong message types, unknown and schema-invalid CALLs get CALLERRORs', async (t) => {
    const { csms, events } = await startCsms(t, { stations: { RAW: undefined, GOOD: undefined } });
    const raw = await rawStation(csms, 'RAW');
    raw.send('[2,"b1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X"}]');
    const boot = (await raw.next()) as [number, string, { status: string }];
    assert.deepEqual([boot[0], boot[1], boot[2].status], [3, 'b1', 'Accepted']);

    raw.send('this is not json');
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 3), [4, '-1', 'RpcFrameworkError']);
    raw.send('{"an":"object"}');
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 3), [4, '-1', 'RpcFrameworkError']);
    raw.send('[9,"m1"]');
    // ocpp-rpc checks the type before it reads the message id, so the id is '-1' here.
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 3), [4, '-1', 'MessageTypeNotSupported']);
    raw.send('[2,"m2","NoSuchAction",{}]');
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 3), [4, 'm2', 'NotImplemented']);
    raw.send('[2,"m3","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]');
    const invalid = (await raw.next()) as unknown[];
    assert.deepEqual(invalid.slice(0, 2), [4, 'm3']);
    assert.match(String(invalid[2]), /TypeConstraintViolation|FormationViolation|PropertyConstraintViolation/);
    // 1.6 sampled values are strings; a number is a schema violation.
    raw.send(
      '[2,"m4","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z","sampledValue":[{"value":12}]}]}]',
    );
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 2), [4, 'm4']);
    raw.send(
      '[2,"m6","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available","timestamp":"yesterday"}]',
    );
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 2), [4, 'm6']);
    raw.send(`[2,"m7","DataTransfer",{"vendorId":"${'v'.repeat(300)}"}]`);
    assert.deepEqual(((await raw.next()) as unknown[]).slice(0, 2), [4, 'm7']);
    raw.send('[3,"never-asked",{}]'); // a CALLRESULT for no call: dropped, no answer
    raw.send('[2,"m5","Heartbeat",{}]');
    const heartbeat = (await raw.next()) as [number, string, { currentTime: string }];
    assert.deepEqual(heartbeat.slice(0, 2), [3, 'm5']);
    assert.equal(events.of('status').length, 0, 'nothing invalid reached the events');
    assert.equal(events.of('readings').length, 0);
    await stillServes(t, csms);
  });

  test('a frame above maxPayloadBytes closes the socket with 1009', async (t) => {
    const { csms, events } = await startCsms(
      t,
      { stations: { RAW: undefined, GOOD: undefined } },
      { maxPayloadBytes: 4_096 },
    );
    const raw = await rawStation(csms, 'RAW');
    raw.send(`[2,"big","DataTransfer",{"vendorId":"x","data":"${'A'.repeat(8_000)}"}]`);
    assert.equal((await raw.closed).code, 1009);
    await events.next('disconnected');
    await stillServes(t, csms);
  });

  test('a run of bad frames closes the socket (1002)', async (t) => {
    const { csms } = await startCsms(t, { stations: { RAW: undefined, GOOD: undefined } });
    const raw = await rawStation(csms, 'RAW');
    for (let i = 0; i < 12; i += 1) raw.send(`garbage ${i}`);
    assert.equal((await raw.closed).code, 1002);
    await stillServes(t, csms);
  });

  test('a station answering a command with an invalid or error result', async (t) => {
    const { csms } = await startCsms(t, { stations: { RAW: undefined } });
    const raw = await rawStation(csms, 'RAW');
    raw.send('[2,"b1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X"}]');
    await raw.next();

    const reset = csms.reset('RAW', 'Soft');
    const call = (await raw.next()) as [number, string, string, unknown];
    assert.deepEqual([call[0], call[2], call[3]], [2, 'Reset', { type: 'Soft' }]);
    raw.send(JSON.stringify([3, call[1], { status: 'Perhaps' }]));
    await rejectsWith(reset, 'GW_ERR_DEVICE_PROTOCOL');

    const again = csms.reset('RAW', 'Hard');
    const second = (await raw.next()) as [number, string];
    raw.send(JSON.stringify([4, second[1], 'NotImplemented', 'no resets here', {}]));
    await rejectsWith(again, 'GW_ERR_NOT_SUPPORTED');

    const third = csms.reset('RAW', 'Hard');
    const frame = (await raw.next()) as [number, string];
    raw.send(JSON.stringify([4, frame[1], 'InternalError', 'boom', {}]));
    const error = await rejectsWith(third, 'GW_ERR_DEVICE_REJECTED');
    assert.equal(error.details?.rpcErrorCode, 'InternalError');
  });
});

describe('hostile upgrade requests', () => {
  test('bad paths and identities are refused with an HTTP status, plain requests with 426', async (t) => {
    const { csms } = await startCsms(t, { stations: { GOOD: undefined } });
    assert.equal(await rawHttp(csms.port, upgradeRequest('/ocpp/%E0%A4%A')), 400);
    assert.equal(await rawHttp(csms.port, upgradeRequest(`/ocpp/${'X'.repeat(49)}`)), 400);
    assert.equal(await rawHttp(csms.port, upgradeRequest('/ocpp/a%20b')), 400);
    assert.equal(await rawHttp(csms.port, upgradeRequest('/elsewhere/GOOD')), 404);
    assert.equal(await rawHttp(csms.port, upgradeRequest('/ocpp/')), 400);
    assert.equal(await rawHttp(csms.port, 'GET /ocpp/GOOD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 426);
    assert.equal(await rawHttp(csms.port, 'NOT HTTP AT ALL\r\n\r\n'), 400);
    await stillServes(t, csms);
  });

  test('beyond maxStations new stations get 503', async (t) => {
    const { csms } = await startCsms(t, { stations: { A: undefined, B: undefined } }, { maxStations: 1 });
    await station(t, csms, 'A').connect();
    await assert.rejects(station(t, csms, 'B').connect(), { code: 503 });
    // The connected one may still reconnect (and replaces itself).
    await station(t, csms, 'A').connect();
    assert.deepEqual(csms.connected(), ['A']);
  });
});

describe('close()', () => {
  test('closes every socket and the listener; later commands are GW_ERR_DEVICE_UNREACHABLE', async (t) => {
    const { csms } = await startCsms(t, { stations: { A: undefined } });
    const a = station(t, csms, 'A');
    await connectAndBoot(a);
    const closed = new Promise<{ code: number }>((resolve) => a.on('close', resolve as (event: never) => void));
    const queued = rejectsWith(
      csms.reset('B', 'Soft', { queueUntil: Date.now() + 60_000 }),
      'GW_ERR_DEVICE_UNREACHABLE',
    );
    await csms.close();
    assert.equal((await closed).code, 1001);
    await queued;
    await rejectsWith(csms.reset('A', 'Soft'), 'GW_ERR_DEVICE_UNREACHABLE');
    assert.equal(await rawHttp(csms.port, upgradeRequest('/ocpp/A')).catch(() => -1), -1);
  });
});
