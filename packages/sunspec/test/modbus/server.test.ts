import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  encodeReadHoldingRegistersRequest,
  encodeWriteRegistersRequest,
  FrameReader,
  type MbapFrame,
} from '../../src/modbus/mbap.ts';
import { ModbusTcpServer } from '../../src/modbus/server.ts';
import { hex, RawClient, RegisterImages, randomBytes } from './helpers.ts';

const BASE = 40000;
const image = Array.from({ length: 200 }, (_, i) => (i * 257) & 0xffff);

function registersOf(frame: MbapFrame): number[] {
  assert.equal(frame.pdu[0], 3, `FC3 response, got ${hex(frame.pdu)}`);
  const values: number[] = [];
  for (let i = 2; i < frame.pdu.length; i += 2) values.push((frame.pdu[i]! << 8) | frame.pdu[i + 1]!);
  return values;
}

describe('ModbusTcpServer', { timeout: 20_000 }, () => {
  const handler = new RegisterImages().add(1, BASE, image).add(2, 0, [11, 22, 33]);
  let server: ModbusTcpServer;
  let port: number;
  const clients: RawClient[] = [];
  const connect = async () => {
    const client = await RawClient.connect(port);
    clients.push(client);
    return client;
  };

  before(async () => {
    // A handler bug: unit 9 throws, unit 8 returns the wrong number of registers.
    const buggy = Object.assign(Object.create(handler) as RegisterImages, {
      hasUnit: (unit: number) => unit === 8 || unit === 9 || handler.hasUnit(unit),
      readHoldingRegisters(unit: number, address: number, count: number) {
        if (unit === 9) throw new Error('handler bug');
        if (unit === 8) return new Uint16Array(count + 1);
        return handler.readHoldingRegisters(unit, address, count);
      },
    });
    server = new ModbusTcpServer({ port: 0, handler: buggy });
    ({ port } = await server.listen());
  });

  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  it('listens on 127.0.0.1 by default, on the port listen() reports', () => {
    assert.deepEqual(server.address, { address: '127.0.0.1', family: 'IPv4', port });
    assert.ok(port > 0);
  });

  it('answers FC3 with the registers and echoes transaction and unit ids', async () => {
    const client = await connect();
    client.send(encodeReadHoldingRegistersRequest(0xabcd, 1, BASE + 10, 125));
    const [frame] = await client.waitFrames(1);
    assert.equal(frame!.transactionId, 0xabcd);
    assert.equal(frame!.unitId, 1);
    assert.deepEqual(registersOf(frame!), image.slice(10, 135));
  });

  it('answers FC16 with the echoed address and quantity, and the write reads back', async () => {
    const client = await connect();
    client.send(encodeWriteRegistersRequest(7, 2, 1, [0xbeef, 0x0102]));
    client.send(encodeReadHoldingRegistersRequest(8, 2, 0, 3));
    const [written, read] = await client.waitFrames(2);
    assert.equal(hex(written!.pdu), '1000010002');
    assert.deepEqual(registersOf(read!), [11, 0xbeef, 0x0102]);
  });

  it('answers pipelined requests in order, also when they arrive in odd chunks', async () => {
    const client = await connect();
    const requests = Buffer.concat(
      Array.from({ length: 60 }, (_, i) => encodeReadHoldingRegistersRequest(1000 + i, 1, BASE + i, 1 + (i % 5))),
    );
    for (let offset = 0; offset < requests.length; offset += 37) client.send(requests.subarray(offset, offset + 37));
    const frames = await client.waitFrames(60);
    frames.forEach((frame, i) => {
      assert.equal(frame.transactionId, 1000 + i);
      assert.deepEqual(registersOf(frame), image.slice(i, i + 1 + (i % 5)));
    });
  });

  it('answers exception 1 to unsupported function codes', async () => {
    const client = await connect();
    client.send(Buffer.from('000100000006010100000008', 'hex')); // FC1 read coils
    client.send(Buffer.from('00020000000401' + '2b0e01', 'hex')); // FC43 read device id
    client.send(Buffer.from('0003000000060106000a0001', 'hex')); // FC6 write single register
    const frames = await client.waitFrames(3);
    assert.deepEqual(
      frames.map((f) => hex(f.pdu)),
      ['8101', 'ab01', '8601'],
    );
  });

  it('answers the handler exception 2 for an address outside the map, and 3 for a bad quantity', async () => {
    const client = await connect();
    client.send(encodeReadHoldingRegistersRequest(1, 1, BASE + 150, 100)); // past the end of unit 1
    client.send(encodeWriteRegistersRequest(2, 2, 2, [1, 2])); // register 3 does not exist
    client.send(Buffer.from('00030000000601' + '0300000000', 'hex')); // quantity 0
    client.send(Buffer.from('00040000000601' + '030000007e', 'hex')); // quantity 126
    const frames = await client.waitFrames(4);
    assert.deepEqual(
      frames.map((f) => hex(f.pdu)),
      ['8302', '9002', '8303', '8303'],
    );
  });

  it('answers exception 11 for a unit id the handler does not serve', async () => {
    const client = await connect();
    client.send(encodeReadHoldingRegistersRequest(1, 42, BASE, 2));
    client.send(encodeWriteRegistersRequest(2, 0xff, BASE, [1]));
    const frames = await client.waitFrames(2);
    assert.deepEqual(
      frames.map((f) => [f.unitId, hex(f.pdu)]),
      [
        [42, '830b'],
        [0xff, '900b'],
      ],
    );
  });

  it('answers exception 4 when the handler throws or returns the wrong number of registers', async () => {
    const client = await connect();
    client.send(encodeReadHoldingRegistersRequest(1, 9, 0, 2));
    client.send(encodeReadHoldingRegistersRequest(2, 8, 0, 2));
    client.send(encodeReadHoldingRegistersRequest(3, 1, BASE, 1));
    const frames = await client.waitFrames(3);
    assert.deepEqual(
      frames.map((f) => hex(f.pdu)),
      ['8304', '8304', '0302' + image[0]!.toString(16).padStart(4, '0')],
    );
  });

  it('drops a frame with a non-zero protocol id unanswered and serves the next one', async () => {
    const client = await connect();
    client.send(Buffer.from('0001' + '0001' + '0006' + '01' + '0300000001', 'hex'));
    client.send(encodeReadHoldingRegistersRequest(2, 1, BASE, 1));
    const [frame] = await client.waitFrames(1);
    assert.equal(frame!.transactionId, 2);
    assert.equal(client.closed, false);
  });

  it('closes only the socket that sends a bad MBAP length; other sockets keep working', async () => {
    const healthy = await connect();
    const bad = await connect();
    const malformedBefore = server.stats.malformed;
    bad.send(Buffer.from('0001' + '0000' + '0000' + '01' + '03', 'hex'));
    await bad.waitClosed();
    assert.equal(server.stats.malformed, malformedBefore + 1);
    healthy.send(encodeReadHoldingRegistersRequest(5, 1, BASE, 3));
    const [frame] = await healthy.waitFrames(1);
    assert.deepEqual(registersOf(frame!), image.slice(0, 3));
  });

  it('survives random garbage on many sockets and keeps serving', async () => {
    const garbageClients = await Promise.all(Array.from({ length: 20 }, () => connect()));
    const malformedBefore = server.stats.malformed;
    let expectedClosed = 0;
    await Promise.all(
      garbageClients.map(async (client, i) => {
        const garbage = randomBytes(i + 1, 64 + i * 13);
        // What the server must make of these bytes: answers to the frames, closed if the stream broke.
        const reference = new FrameReader();
        reference.push(garbage);
        let answers = 0;
        for (let r = reference.read(); r !== undefined; r = reference.read()) if (r.frame) answers++;
        client.send(garbage);
        if (reference.broken) {
          expectedClosed++;
          await client.waitClosed();
          assert.equal(client.frames.length, answers);
        } else {
          await client.waitFrames(answers);
        }
      }),
    );
    assert.ok(expectedClosed > 10, `${expectedClosed} of 20 garbage streams break the framing`);
    assert.ok(server.stats.malformed >= malformedBefore + expectedClosed);
    const probe = await connect();
    probe.send(encodeReadHoldingRegistersRequest(77, 1, BASE + 1, 2));
    const [frame] = await probe.waitFrames(1);
    assert.equal(frame!.transactionId, 77);
    assert.deepEqual(registersOf(frame!), image.slice(1, 3));
  });

  it('close() stops listening and destroys open connections', async () => {
    const extra = new ModbusTcpServer({ port: 0, handler });
    const { port: extraPort } = await extra.listen();
    const client = await RawClient.connect(extraPort);
    clients.push(client);
    client.send(encodeReadHoldingRegistersRequest(1, 1, BASE, 1));
    await client.waitFrames(1);
    assert.equal(extra.connectionCount, 1);
    await extra.close();
    await client.waitClosed();
    await assert.rejects(RawClient.connect(extraPort), /ECONNREFUSED/);
  });
});
