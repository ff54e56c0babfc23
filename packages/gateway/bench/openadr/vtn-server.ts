/**
 * The OpenADR benchmark's server under test, run as a child process: the VTN `gridseam openadr vtn` runs
 * (`startOpenAdrVtn`: the gateway store opened and migrated, the VTN's objects as documents in namespace
 * openadr-vtn-{version} through `documentVtnStore`, a SQLite file in the benchmark's temporary folder, WAL,
 * synchronous=NORMAL). Every write (ven, report) is committed to that file before it is answered.
 *
 * The config is parsed (validated, defaulted) by parseVtnConfig with one BL and one VEN client; the other
 * 9,999 VEN clients are that one with their own id, venName and secret digest (a 10,001-client YAML file
 * would exceed parseVtnConfig's 1 MiB limit). With `store: 'memory'` the same options go to `createVtn`
 * with the package's MemoryVtnStore instead (comparison only: nothing is persisted).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createVtn, MemoryVtnStore, type Vtn } from '@gridseam/openadr';
import BetterSqlite3 from 'better-sqlite3';
import type { LogLevel } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { defaultVtnNamespace, parseVtnConfig, startOpenAdrVtn, vtnOptionsFromConfig } from '../../src/openadr/vtn.ts';
import {
  fail,
  gcMonitor,
  loopDelayMonitor,
  loopDelayOf,
  sampleMemory,
  serveParent,
  WindowProfiler,
} from '../ocpp/protocol.ts';
import {
  BL_CLIENT_ID,
  clientSecret,
  type ServerCommand,
  type ServerMessage,
  type VtnServerSettings,
  venClientId,
  venName,
} from './protocol.ts';

const TOKEN_SECRET_ENV = 'BENCH_VTN_TOKEN_SECRET';
const settings = JSON.parse(process.argv[2] ?? '{}') as VtnServerSettings;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

async function main(): Promise<void> {
  const started = performance.now();
  const databasePath = join(settings.dir, 'openadr-vtn.sqlite');
  const logPath = join(settings.dir, 'vtn.log');
  const firstVen = venClientId(0);
  const config = parseVtnConfig(
    `
version: '${settings.version}'
listen: { host: 127.0.0.1, port: 0 }
auth:
  tokenSecretEnv: ${TOKEN_SECRET_ENV}
  clients:
    - { clientId: ${BL_CLIENT_ID}, role: bl, secretSha256: ${sha256(clientSecret(settings.secret, BL_CLIENT_ID))} }
    - { clientId: ${firstVen}, role: ven, venName: ${venName(0)}, secretSha256: ${sha256(clientSecret(settings.secret, firstVen))} }
store: { kind: sqlite, path: ${JSON.stringify(databasePath)} }
log: { level: ${settings.logLevel} }
`,
    join(settings.dir, 'vtn.yaml'),
  );
  const [bl, template] = config.auth.clients;
  if (bl === undefined || template === undefined) throw new Error('the benchmark config lost its clients');
  config.auth.clients = [
    bl,
    ...Array.from({ length: settings.vens }, (_, i) => {
      const clientId = venClientId(i);
      return {
        ...template,
        clientId,
        venName: venName(i),
        secretSha256: sha256(clientSecret(settings.secret, clientId)),
      };
    }),
  ];
  const env = { [TOKEN_SECRET_ENV]: sha256(`token:${settings.secret}`) };

  const logFile = createWriteStream(logPath);
  const logger = createLogger({ level: settings.logLevel as LogLevel, destination: logFile });
  let vtn: Vtn;
  let close: () => Promise<void>;
  let url: string;
  if (settings.store === 'sqlite') {
    const running = await startOpenAdrVtn(config, { logger, env });
    vtn = running.vtn;
    url = running.url;
    close = () => running.close();
  } else {
    const log = logger.child({ component: 'openadr-vtn' });
    vtn = await createVtn({
      ...(await vtnOptionsFromConfig(config, env)),
      store: new MemoryVtnStore(),
      log: (level, message, details) => log[level](details ?? {}, message),
    });
    url = (await vtn.listen({ host: '127.0.0.1', port: 0 })).url;
    close = () => vtn.close();
  }
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
        await close();
        await new Promise<void>((resolve) => logFile.end(() => resolve()));
        let storedDocuments: Record<string, number> | undefined;
        if (settings.store === 'sqlite') {
          const db = new BetterSqlite3(databasePath, { readonly: true });
          const rows = db
            .prepare(
              `SELECT substr(id, 1, instr(id, '/') - 1) AS kind, count(*) AS n FROM documents
               WHERE namespace = ? GROUP BY kind`,
            )
            .all(defaultVtnNamespace(settings.version)) as Array<{ kind: string; n: number }>;
          db.close();
          storedDocuments = Object.fromEntries(rows.map((row) => [row.kind, row.n]));
        }
        const warnings = readFileSync(logPath, 'utf8')
          .split('\n')
          .filter((line) => /"level":(4|5|6)\d/.test(line));
        process.send?.(
          {
            type: 'stopped',
            ...(storedDocuments === undefined ? {} : { storedDocuments }),
            warnLines: warnings.length,
            firstWarnings: warnings.slice(0, 3).map((line) => line.slice(0, 400)),
          } satisfies ServerMessage,
          () => process.exit(0),
        );
        return undefined;
      }
    }
  });
  process.send?.({
    type: 'ready',
    url,
    startupMs,
    baseline: await sampleMemory(),
    ...(settings.store === 'sqlite' ? { databasePath } : {}),
  } satisfies ServerMessage);
}

main().catch((error: unknown) => fail(error));
