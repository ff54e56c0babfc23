/**
 * The OpenADR benchmark's floor, run as a child process: a bare fastify server (logger off, default JSON body
 * parser) on the VTN's two paths, answering GET {basePath}/events with the bytes the VTN gave a VEN for it and
 * POST {basePath}/reports with the bytes of a report creation (201), same content type. No token check, no
 * validation, no store. What the VTN adds on top (auth, OpenAPI checks, privacy, persistence) is the cost
 * measured against it.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import {
  fail,
  gcMonitor,
  loopDelayMonitor,
  loopDelayOf,
  sampleMemory,
  serveParent,
  WindowProfiler,
} from '../ocpp/protocol.ts';
import type { FloorServerSettings, ServerCommand, ServerMessage } from './protocol.ts';

const settings = JSON.parse(process.argv[2] ?? '{}') as FloorServerSettings;

async function main(): Promise<void> {
  const started = performance.now();
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const { basePath, eventsBody, reportBody, contentType } = settings;
  app.get(`${basePath}/events`, (_request, reply) => reply.type(contentType).send(eventsBody));
  app.post(`${basePath}/reports`, (_request, reply) => reply.code(201).type(contentType).send(reportBody));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const startupMs = performance.now() - started;

  let cpuStart = process.cpuUsage();
  let roundStart = performance.now();
  let loopDelay = loopDelayMonitor();
  let gc = gcMonitor();
  const profiler = new WindowProfiler(settings.cpuProfilePath);
  serveParent<ServerCommand, ServerMessage>(async (command) => {
    switch (command.type) {
      case 'round-start': {
        loopDelay.disable();
        gc.read();
        await profiler.start();
        loopDelay = loopDelayMonitor();
        gc = gcMonitor();
        cpuStart = process.cpuUsage();
        roundStart = performance.now();
        return undefined;
      }
      case 'round-end': {
        const cpu = process.cpuUsage(cpuStart);
        const ms = performance.now() - roundStart;
        loopDelay.disable();
        return {
          type: 'round',
          cpuMicros: cpu.user + cpu.system,
          ms,
          loopDelay: loopDelayOf(loopDelay),
          gc: gc.read(),
        };
      }
      case 'measure': {
        await profiler.stop();
        return { type: 'measured', memory: await sampleMemory() };
      }
      case 'stop': {
        await app.close();
        process.send?.({ type: 'stopped' } satisfies ServerMessage, () => process.exit(0));
        return undefined;
      }
    }
  });
  process.send?.({
    type: 'ready',
    url: `http://127.0.0.1:${port}${basePath}`,
    startupMs,
    baseline: await sampleMemory(),
  } satisfies ServerMessage);
}

main().catch((error: unknown) => fail(error));
