/**
 * Interop over loopback with independent Modbus implementations (device_edge.md 4):
 * - Debian `mbpoll` (libmodbus) as a client of our ModbusTcpServer; `-0` = 0-based PDU addresses.
 * - Debian `python3-pymodbus` 3.0 as a server (fixtures/pymodbus_server.py, zero_mode=True) read by
 *   our client, with both engines.
 * Each is skipped with a message when the tool is absent.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GridseamError } from '@gridseam/model';
import { openModbusTcp } from '../../src/modbus/client.ts';
import { ModbusTcpServer } from '../../src/modbus/server.ts';
import { RegisterImages } from './helpers.ts';

const run = promisify(execFile);
const MBPOLL = '/usr/bin/mbpoll';
const PYTHON = '/usr/bin/python3';
const PYMODBUS_SERVER = fileURLToPath(new URL('./fixtures/pymodbus_server.py', import.meta.url));

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function pymodbusMissing(): Promise<string | undefined> {
  if (!executable(PYTHON)) return `${PYTHON} not found`;
  try {
    await run(PYTHON, ['-c', 'import pymodbus.datastore, serial'], { timeout: 10_000 });
    return undefined;
  } catch {
    return 'Debian python3-pymodbus / python3-serial not installed for /usr/bin/python3';
  }
}

/** Parses mbpoll's "[40000]: \t21365" lines into address -> value. */
function parseMbpoll(stdout: string): Map<number, number> {
  const values = new Map<number, number>();
  for (const match of stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)\s*$/gm)) values.set(Number(match[1]), Number(match[2]));
  return values;
}

describe('interop: mbpoll as a client of ModbusTcpServer', { timeout: 30_000 }, () => {
  const images = new RegisterImages().add(1, 40000, [0x5375, 0x6e53, 1, 66, 0, 0, 0, 0, 0, 0, 0, 0]);
  const server = new ModbusTcpServer({ port: 0, handler: images });
  let port = 0;

  before(async () => {
    if (executable(MBPOLL)) ({ port } = await server.listen());
  });
  after(() => server.close());

  it('reads 4 holding registers at 40000 (SunS, model 1, length 66)', async (t) => {
    if (!executable(MBPOLL)) return t.skip(`${MBPOLL} not installed (Debian package mbpoll)`);
    const args = ['-m', 'tcp', '-a', '1', '-p', String(port), '-0', '-r', '40000', '-c', '4', '-t', '4', '-1'];
    const { stdout } = await run(MBPOLL, [...args, '127.0.0.1'], { timeout: 10_000 });
    assert.deepEqual(
      [...parseMbpoll(stdout)],
      [
        [40000, 21365],
        [40001, 28243],
        [40002, 1],
        [40003, 66],
      ],
    );
  });

  it('writes registers with FC16 that then read back through the handler', async (t) => {
    if (!executable(MBPOLL)) return t.skip(`${MBPOLL} not installed (Debian package mbpoll)`);
    const args = ['-m', 'tcp', '-a', '1', '-p', String(port), '-0', '-r', '40004', '-t', '4', '127.0.0.1'];
    await run(MBPOLL, [...args, '1234', '5678', '42'], { timeout: 10_000 });
    assert.deepEqual(images.readHoldingRegisters(1, 40004, 4), Uint16Array.of(1234, 5678, 42, 0));
  });

  it('reports the exception 2 our handler answers past the end of the map', async (t) => {
    if (!executable(MBPOLL)) return t.skip(`${MBPOLL} not installed (Debian package mbpoll)`);
    const args = ['-m', 'tcp', '-a', '1', '-p', String(port), '-0', '-r', '40010', '-c', '4', '-t', '4', '-1'];
    const result = await run(MBPOLL, [...args, '127.0.0.1'], { timeout: 10_000 }).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    assert.match(result.stdout + result.stderr, /Illegal data address/);
  });
});

describe('interop: our client reading a pymodbus 3.0 server', { timeout: 30_000 }, () => {
  const values = [0x5375, 0x6e53, 1, 66, ...Array.from({ length: 130 }, (_, i) => (i * 1000) & 0xffff)];
  let child: ChildProcess | undefined;
  let port = 0;
  let missing: string | undefined;

  before(async () => {
    missing = await pymodbusMissing();
    if (missing) return;
    const started = spawn(
      PYTHON,
      [PYMODBUS_SERVER, '--port', '0', '--address', '40000', '--values', values.join(','), '--watch-stdin'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      started.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const ready = /READY (\d+)/.exec(stdout);
        if (ready) resolve(Number(ready[1]));
      });
      started.once('exit', (code) => reject(new Error(`pymodbus server exited (${code}): ${stderr}`)));
    });
  });

  after(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  for (const engine of ['modbus-serial', 'mbap'] as const) {
    it(`reads the block, 125 registers at a time, and gets exception 2 past its end (engine ${engine})`, async (t) => {
      if (missing) return t.skip(missing);
      const transport = await openModbusTcp({ host: '127.0.0.1', port, engine });
      try {
        assert.deepEqual(await transport.readHoldingRegisters(1, 40000, 4), Uint16Array.of(0x5375, 0x6e53, 1, 66));
        const block = await transport.readHoldingRegisters(1, 40004, 125);
        assert.deepEqual(block, Uint16Array.from(values.slice(4, 129)));
        await transport.writeRegisters(1, 40130, [7, 8, 9]);
        assert.deepEqual(await transport.readHoldingRegisters(1, 40129, 4), Uint16Array.of(values[129]!, 7, 8, 9));
        const error = await transport.readHoldingRegisters(1, 40130, 10).then(
          () => assert.fail('expected exception 2'),
          (e: unknown) => e,
        );
        assert.ok(GridseamError.is(error));
        assert.equal(error.code, 'GW_ERR_DEVICE_REJECTED');
        assert.equal(error.details?.modbusException, 2);
        assert.equal(transport.stats.retries, 0);
      } finally {
        await transport.close();
      }
    });
  }
});
