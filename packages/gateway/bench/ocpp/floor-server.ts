/**
 * The OCPP benchmark's floor, run as a child process: a bare ocpp-rpc RPCServer in strict mode
 * with the same subprotocol (ocpp1.6) that accepts every connection (no credential check, no
 * registry, no store) and only acknowledges: BootNotification Accepted, StatusNotification and
 * MeterValues with an empty result. What the gateway adds on top is the cost measured against it.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import ocppRpc from 'ocpp-rpc';
import {
  fail,
  gcMonitor,
  loopDelayMonitor,
  loopDelayOf,
  openFilesLimit,
  type ServerCommand,
  type ServerMessage,
  type ServerSettings,
  sampleMemory,
  serveParent,
  WindowProfiler,
} from './protocol.ts';

/** The subset of ocpp-rpc's RPCServerClient used here. */
interface FloorLink {
  handle(method: string, handler: () => object): void;
  on(event: 'close', listener: () => void): unknown;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as ServerSettings;

async function main(): Promise<void> {
  const started = performance.now();
  const server = new ocppRpc.RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
  let connections = 0;
  server.on('client', (client: unknown) => {
    const link = client as FloorLink;
    connections++;
    link.on('close', () => connections--);
    link.handle('BootNotification', () => ({
      status: 'Accepted',
      currentTime: new Date().toISOString(),
      interval: 300,
    }));
    link.handle('StatusNotification', () => ({}));
    link.handle('MeterValues', () => ({}));
  });
  const http = await server.listen(0, '127.0.0.1');
  const port = (http.address() as AddressInfo).port;
  const startupMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 1000));

  let cpuStart = process.cpuUsage();
  let windowStart = performance.now();
  let loopDelay = loopDelayMonitor();
  let gc = gcMonitor();
  const profiler = new WindowProfiler(settings.cpuProfilePath);
  serveParent<ServerCommand, ServerMessage>(async (command) => {
    switch (command.type) {
      case 'window-start': {
        cpuStart = process.cpuUsage();
        windowStart = performance.now();
        loopDelay.disable();
        loopDelay = loopDelayMonitor();
        gc.read();
        gc = gcMonitor();
        await profiler.start();
        return undefined;
      }
      case 'measure': {
        const cpu = process.cpuUsage(cpuStart);
        await profiler.stop();
        const windowMs = performance.now() - windowStart;
        loopDelay.disable();
        const gcPauses = gc.read();
        const memory = await sampleMemory();
        if (settings.heapSnapshotPath !== undefined) writeHeapSnapshot(settings.heapSnapshotPath);
        return {
          type: 'measured',
          memory,
          connections,
          cpuMicros: cpu.user + cpu.system,
          windowMs,
          loopDelay: loopDelayOf(loopDelay),
          gc: gcPauses,
        };
      }
      case 'drain':
        return { type: 'drained', ms: 0, buffered: 0 };
      case 'stop': {
        await server.close({ force: true });
        process.send?.({ type: 'stopped' } satisfies ServerMessage, () => process.exit(0));
        return undefined;
      }
    }
  });
  process.send?.({
    type: 'ready',
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    startupMs,
    baseline: await sampleMemory(),
    openFilesLimit: openFilesLimit(),
  } satisfies ServerMessage);
}

main().catch((error: unknown) => fail(error));
