/**
 * The Modbus TCP transport against our server and against scripted fake peers, once per engine
 * ('mbap', the default, and 'modbus-serial'). Where the engines differ (a wrong transaction id, a
 * truncated frame) the expected outcome is stated per engine.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GridseamError } from '@gridseam/model';
import { type ModbusTcpEngine, type ModbusTcpTransport, openModbusTcp } from '../../src/modbus/client.ts';
import {
  encodeExceptionResponse,
  encodeReadHoldingRegistersResponse,
  encodeWriteRegistersResponse,
  type MbapFrame,
} from '../../src/modbus/mbap.ts';
import { ModbusTcpServer } from '../../src/modbus/server.ts';
import { FakePeer, RegisterImages } from './helpers.ts';

const BASE = 40000;

async function rejection(promise: Promise<unknown>): Promise<GridseamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

/** Answers an FC3 request correctly from a fixed pattern: register n holds n + 1. */
function goodAnswer(frame: MbapFrame): Uint8Array {
  const view = Buffer.from(frame.pdu);
  const address = view.readUInt16BE(1);
  const count = view.readUInt16BE(3);
  if (frame.pdu[0] === 16) return encodeWriteRegistersResponse(frame.transactionId, frame.unitId, address, count);
  const values = Uint16Array.from({ length: count }, (_, i) => (address + i + 1) & 0xffff);
  return encodeReadHoldingRegistersResponse(frame.transactionId, frame.unitId, values);
}

function expectedPattern(address: number, count: number): Uint16Array {
  return Uint16Array.from({ length: count }, (_, i) => (address + i + 1) & 0xffff);
}

for (const engine of ['modbus-serial', 'mbap'] as const satisfies readonly ModbusTcpEngine[]) {
  describe(`Modbus TCP client (engine ${engine})`, { timeout: 30_000 }, () => {
    const images = new RegisterImages()
      .add(
        1,
        BASE,
        Array.from({ length: 300 }, (_, i) => i),
      )
      .add(
        2,
        BASE,
        Array.from({ length: 10 }, (_, i) => 1000 + i),
      )
      .add(3, 0, [7, 7, 7]);
    let server: ModbusTcpServer;
    let port: number;
    const transports: ModbusTcpTransport[] = [];
    const open = async (options: Partial<Parameters<typeof openModbusTcp>[0]> & { port: number }) => {
      const transport = await openModbusTcp({ host: '127.0.0.1', engine, timeoutMs: 2000, ...options });
      transports.push(transport);
      return transport;
    };

    before(async () => {
      server = new ModbusTcpServer({ port: 0, handler: images });
      ({ port } = await server.listen());
    });

    after(async () => {
      await Promise.all(transports.map((t) => t.close()));
      await server.close();
    });

    it('reads and writes holding registers, up to 125 / 123 per request', async () => {
      const transport = await open({ port });
      assert.equal(transport.engine, engine);
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE + 5, 3), Uint16Array.of(5, 6, 7));
      const full = await transport.readHoldingRegisters(1, BASE, 125);
      assert.equal(full.length, 125);
      assert.equal(full[124], 124);
      await transport.writeRegisters(1, BASE + 200, [0xffff, 0, 42]);
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE + 199, 5), Uint16Array.of(199, 0xffff, 0, 42, 203));
      const many = Uint16Array.from({ length: 123 }, (_, i) => 5000 + i);
      await transport.writeRegisters(1, BASE + 100, many);
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE + 100, 123), many);
      assert.equal(transport.stats.requests, 6);
      assert.deepEqual(transport.stats.errors, {});
    });

    it('serves several unit ids over one connection', async () => {
      const connectionsBefore = server.stats.connections;
      const transport = await open({ port });
      const [a, b, c] = await Promise.all([
        transport.readHoldingRegisters(2, BASE, 2),
        transport.readHoldingRegisters(3, 0, 3),
        transport.readHoldingRegisters(2, BASE + 8, 2),
      ]);
      assert.deepEqual(a, Uint16Array.of(1000, 1001));
      assert.deepEqual(b, Uint16Array.of(7, 7, 7));
      assert.deepEqual(c, Uint16Array.of(1008, 1009));
      assert.equal(server.stats.connections, connectionsBefore + 1);
    });

    it('surfaces exception 2 as GW_ERR_DEVICE_REJECTED with details, without retrying', async () => {
      const transport = await open({ port, retries: 3, backoffMs: 1 });
      const readsBefore = images.reads;
      const error = await rejection(transport.readHoldingRegisters(1, BASE + 290, 20));
      assert.equal(error.code, 'GW_ERR_DEVICE_REJECTED');
      assert.equal(error.retryable, false);
      assert.deepEqual(error.details, { modbusException: 2, unit: 1, address: BASE + 290, count: 20 });
      assert.equal(images.reads, readsBefore + 1, 'asked once');
      assert.equal(transport.stats.retries, 0);
      assert.equal(transport.stats.reconnects, 0);
      assert.deepEqual(transport.stats.errors, { GW_ERR_DEVICE_REJECTED: 1 });
      const writeError = await rejection(transport.writeRegisters(3, 2, [1, 2]));
      assert.deepEqual(writeError.details, { modbusException: 2, unit: 3, address: 2, count: 2 });
      // The connection is still good.
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE, 1), Uint16Array.of(0));
    });

    it('surfaces exception 11 (unit not behind the gateway) as GW_ERR_DEVICE_UNREACHABLE, not retried', async () => {
      const transport = await open({ port, retries: 2, backoffMs: 1 });
      const error = await rejection(transport.readHoldingRegisters(99, BASE, 2));
      assert.equal(error.code, 'GW_ERR_DEVICE_UNREACHABLE');
      assert.equal(error.details?.modbusException, 11);
      assert.equal(transport.stats.retries, 0);
    });

    it('rejects more than 125 / 123 registers, bad units and values with GW_ERR_VALIDATION, sending nothing', async () => {
      const transport = await open({ port });
      const requestsBefore = server.stats.requests;
      const invalid = async (promise: Promise<unknown>) =>
        assert.equal((await rejection(promise)).code, 'GW_ERR_VALIDATION');
      await invalid(transport.readHoldingRegisters(1, BASE, 126));
      await invalid(transport.readHoldingRegisters(1, BASE, 0));
      await invalid(transport.readHoldingRegisters(256, BASE, 1));
      await invalid(transport.readHoldingRegisters(1, 65535, 2));
      await invalid(transport.writeRegisters(1, BASE, new Uint16Array(124)));
      await invalid(transport.writeRegisters(1, BASE, [70000]));
      await invalid(transport.writeRegisters(1, BASE, [-1]));
      assert.equal(server.stats.requests, requestsBefore);
      assert.equal(transport.stats.requests, 0);
    });

    it('reconnects after the server drops the connection', async () => {
      const transport = await open({ port });
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE, 2), Uint16Array.of(0, 1));
      server.dropConnections();
      while (transport.connected) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE + 2, 2), Uint16Array.of(2, 3));
      assert.equal(transport.stats.reconnects, 1);
      assert.equal(transport.stats.retries, 0);
      // Dropped again, this time while the client still believes it is connected: the request
      // fails on the dead socket and the retry reconnects.
      server.dropConnections();
      assert.deepEqual(await transport.readHoldingRegisters(1, BASE + 4, 1), Uint16Array.of(4));
      assert.equal(transport.stats.reconnects, 2);
    });

    it('serialises concurrent requests on one connection (one in flight)', async () => {
      const peer = new FakePeer(goodAnswer);
      const peerPort = await peer.listen();
      try {
        const transport = await open({ port: peerPort });
        const results = await Promise.all(
          Array.from({ length: 25 }, (_, i) => transport.readHoldingRegisters(1 + (i % 3), 100 * i, 1 + i)),
        );
        results.forEach((values, i) => {
          assert.deepEqual(values, expectedPattern(100 * i, 1 + i));
        });
        assert.equal(peer.requests, 25);
        assert.equal(peer.maxOutstanding, 1);
      } finally {
        await peer.close();
      }
    });

    it('times out against a peer that never answers: GW_ERR_DEVICE_UNREACHABLE after the retries', async () => {
      const peer = new FakePeer(() => undefined);
      const peerPort = await peer.listen();
      try {
        const transport = await open({ port: peerPort, timeoutMs: 80, retries: 2, backoffMs: 5 });
        const error = await rejection(transport.readHoldingRegisters(4, BASE, 10));
        assert.equal(error.code, 'GW_ERR_DEVICE_UNREACHABLE');
        assert.match(error.message, /no response from unit 4 within 80 ms/);
        assert.deepEqual(error.details, { unit: 4, address: BASE, count: 10 });
        assert.equal(transport.stats.retries, 2);
        assert.equal(peer.requests, 3, 'one try and two retries');
        // Each timeout drops the connection, so a late answer can never be read as the next reply.
        assert.equal(peer.connections, 3);
        assert.equal(transport.stats.reconnects, 2);
        assert.deepEqual(transport.stats.errors, { GW_ERR_DEVICE_UNREACHABLE: 1 });
      } finally {
        await peer.close();
      }
    });

    it('fails to open a closed port with GW_ERR_DEVICE_UNREACHABLE', async () => {
      const peer = new FakePeer(() => undefined);
      const closedPort = await peer.listen();
      await peer.close();
      const error = await rejection(
        openModbusTcp({ host: '127.0.0.1', port: closedPort, engine, retries: 1, backoffMs: 1 }),
      );
      assert.equal(error.code, 'GW_ERR_DEVICE_UNREACHABLE');
      assert.match(error.message, /ECONNREFUSED/);
    });

    it('rejects requests once closed, and a close() during a request ends it at once', async () => {
      const peer = new FakePeer(() => undefined);
      const peerPort = await peer.listen();
      try {
        const transport = await open({ port: peerPort, timeoutMs: 60_000 });
        const pending = transport.readHoldingRegisters(1, 0, 1);
        const queued = transport.readHoldingRegisters(1, 1, 1);
        while (peer.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        await transport.close();
        assert.equal((await rejection(pending)).code, 'GW_ERR_DEVICE_UNREACHABLE');
        assert.equal((await rejection(queued)).code, 'GW_ERR_DEVICE_UNREACHABLE');
        assert.equal((await rejection(transport.readHoldingRegisters(1, 0, 1))).code, 'GW_ERR_DEVICE_UNREACHABLE');
        assert.equal(peer.requests, 1);
      } finally {
        await peer.close();
      }
    });

    describe('fake peers that break the protocol; the client keeps working afterwards', () => {
      type Fault = (frame: MbapFrame, socket: net.Socket) => Uint8Array | undefined;
      const cases: {
        name: string;
        fault: Fault;
        expected: Record<ModbusTcpEngine, { code: string; message: RegExp }>;
      }[] = [
        {
          name: 'a wrong transaction id',
          fault: (frame) => goodAnswer({ ...frame, transactionId: (frame.transactionId + 1) & 0xffff }),
          expected: {
            // modbus-serial drops a frame whose transaction id it does not know: the request times out.
            'modbus-serial': { code: 'GW_ERR_DEVICE_UNREACHABLE', message: /no response from unit 1 within/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /response transaction id \d+, expected \d+/ },
          },
        },
        {
          name: 'a truncated frame (MBAP length promises more than arrives)',
          fault: (frame) => goodAnswer(frame).subarray(0, 12),
          expected: {
            // modbus-serial waits for the rest of the frame: the request times out.
            'modbus-serial': { code: 'GW_ERR_DEVICE_UNREACHABLE', message: /no response from unit 1 within/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /truncated frame: 12 bytes of a frame/ },
          },
        },
        {
          name: 'a truncated frame, then the peer hangs up',
          fault: (frame, socket) => {
            socket.end(goodAnswer(frame).subarray(0, 12));
            return undefined;
          },
          expected: {
            'modbus-serial': { code: 'GW_ERR_DEVICE_UNREACHABLE', message: /connection closed/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /truncated frame: connection closed after 12 bytes/ },
          },
        },
        {
          name: 'a wrong function code',
          fault: (frame) => {
            const bytes = Buffer.from(goodAnswer(frame));
            bytes[7] = 4; // FC4 (read input registers) instead of FC3
            return bytes;
          },
          expected: {
            'modbus-serial': { code: 'GW_ERR_DEVICE_PROTOCOL', message: /expected code 3 got 4/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /function code 4, expected 3/ },
          },
        },
        {
          name: 'fewer registers than asked for (consistent frame, short byte count)',
          fault: (frame) => encodeReadHoldingRegistersResponse(frame.transactionId, frame.unitId, Uint16Array.of(1)),
          expected: {
            'modbus-serial': { code: 'GW_ERR_DEVICE_PROTOCOL', message: /Data length error/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /holds 1 registers, expected 4/ },
          },
        },
        {
          name: 'an answer from another unit id',
          fault: (frame) => goodAnswer({ ...frame, unitId: frame.unitId + 1 }),
          expected: {
            'modbus-serial': { code: 'GW_ERR_DEVICE_PROTOCOL', message: /expected address 1 got 2/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /response unit id 2, expected 1/ },
          },
        },
        {
          name: 'an exception response to another function',
          fault: (frame) => encodeExceptionResponse(frame.transactionId, frame.unitId, 16, 2),
          expected: {
            'modbus-serial': { code: 'GW_ERR_DEVICE_PROTOCOL', message: /Data length error|Unexpected data/ },
            mbap: { code: 'GW_ERR_DEVICE_PROTOCOL', message: /function code 144, expected 3/ },
          },
        },
      ];

      for (const { name, fault, expected } of cases) {
        it(`${name}: ${expected[engine].code}`, async () => {
          let broken = true;
          const peer = new FakePeer((frame, socket) => (broken ? fault(frame, socket) : goodAnswer(frame)));
          const peerPort = await peer.listen();
          try {
            const transport = await open({ port: peerPort, timeoutMs: 250, retries: 1, backoffMs: 5 });
            const error = await rejection(transport.readHoldingRegisters(1, 300, 4));
            assert.equal(error.code, expected[engine].code, error.message);
            assert.match(error.message, expected[engine].message);
            assert.equal(error.details?.unit, 1);
            assert.equal(error.details?.address, 300);
            assert.equal(error.details?.count, 4);
            assert.equal(transport.stats.retries, 1, 'retryable: tried again');
            assert.equal(peer.requests, 2);
            broken = false;
            assert.deepEqual(await transport.readHoldingRegisters(1, 300, 4), expectedPattern(300, 4));
            assert.deepEqual(await transport.readHoldingRegisters(5, 7, 2), expectedPattern(7, 2));
          } finally {
            await peer.close();
          }
        });
      }
    });
  });
}

describe('openModbusTcp options', () => {
  it("uses the 'mbap' engine unless told otherwise", async () => {
    const server = new ModbusTcpServer({ port: 0, handler: new RegisterImages().add(1, 0, [5]) });
    const { port } = await server.listen();
    const transport = await openModbusTcp({ host: '127.0.0.1', port });
    try {
      assert.equal(transport.engine, 'mbap');
      assert.deepEqual(await transport.readHoldingRegisters(1, 0, 1), Uint16Array.of(5));
    } finally {
      await transport.close();
      await server.close();
    }
  });

  it('rejects invalid options with GW_ERR_VALIDATION', async () => {
    for (const bad of [
      { host: '', port: 502 },
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 502, timeoutMs: 0 },
      { host: '127.0.0.1', port: 502, retries: -1 },
      { host: '127.0.0.1', port: 502, engine: 'jsmodbus' as ModbusTcpEngine },
    ]) {
      const error = await rejection(openModbusTcp(bad));
      assert.equal(error.code, 'GW_ERR_VALIDATION', JSON.stringify(bad));
      assert.ok(error.issues.length > 0);
    }
  });
});
