import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridseamError } from '@gridseam/model';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { type GatewayConfig, loadConfig, resolveApiTokens } from '../config/index.ts';
import { isSqliteFile, prepareStoreLocation } from '../config/store-location.ts';
import { createLogger, type Logger } from '../log.ts';
import { listAll } from '../store/list-all.ts';
import type { Store } from '../store/types.ts';
import { registerDemoCommand } from './demo.ts';
import { registerDispatchCommands } from './dispatch.ts';
import { registerMarketCommands } from './market.ts';
import { registerOpenAdrCommands } from './openadr.ts';
import { formatTable, redactUrl } from './output.ts';
import { registerPkiCommand } from './pki.ts';
import { registerSettleCommands } from './settle.ts';
import { closeGracefully } from './shutdown.ts';
import { registerSimCommands } from './sim.ts';
import { registerSunSpecCommands } from './sunspec.ts';
import { registerUtilityServerCommand } from './utility-server.ts';

/** Where the CLI reads and writes; the process's own streams unless a caller passes others. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Resolves with the signal that asks `run` to stop. Default: the first SIGINT or SIGTERM. */
  waitForStop?: () => Promise<string>;
}

/** Exit codes: 0 ok, 1 a failure, 2 a configuration or usage error (the user must change something). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export const DEFAULT_CONFIG_FILE = 'gridseam.yaml';

function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError('must be an integer from 0 to 65535 (0 picks a free port)');
  return Number(value);
}

/** --config if given, else ./gridseam.yaml if there is one, else a config error saying what to do. */
export function resolveConfigPath(option: string | undefined, cwd: string): string {
  if (option !== undefined) return option;
  const fallback = join(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(fallback)) return fallback;
  throw new GridseamError(
    'GW_ERR_CONFIG',
    `no configuration file: pass --config FILE (there is no ./${DEFAULT_CONFIG_FILE} in ${cwd}); examples/gateway.yaml is a documented example`,
  );
}

function describeStore(config: GatewayConfig['store']): string {
  return config.kind === 'sqlite' ? `sqlite ${config.path}` : `postgres ${redactUrl(config.url)}`;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A logger for the one-shot commands: warnings only, on stderr, so stdout stays clean for --json. */
function quietLogger(): Logger {
  return createLogger({ level: 'warn', destination: 2 });
}

// The store, the bus and the API load on demand: `gridseam --help` should not pay for them.
async function withStore<T>(
  config: GatewayConfig,
  use: (store: Store) => Promise<T>,
  options: { create: boolean },
): Promise<T> {
  const { openStore } = await import('../store/index.ts');
  if (options.create) await prepareStoreLocation(config.store);
  else if (isSqliteFile(config.store) && !existsSync(config.store.path))
    throw new GridseamError(
      'GW_ERR_STORE_UNAVAILABLE',
      `there is no database at ${config.store.path} yet: run \`gridseam db migrate\` or \`gridseam run\` first`,
    );
  const store = await openStore(config.store, { logger: quietLogger() });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Every device, page by page (the store caps one page at 1000). */
function allDevices(store: Store, siteId: string | undefined) {
  return listAll((page) => store.devices.list({ ...page, ...(siteId ? { siteId } : {}) }));
}

function buildProgram(io: CliIo): Command {
  const program = new Command();
  const version = packageVersion();
  program
    .name('gridseam')
    .description('Gridseam gateway: DER integration platform (canonical model, store, bus, operator API).')
    .version(`gridseam ${version} (node ${process.version})`, '-V, --version', 'print the version')
    .showHelpAfterError('(run gridseam --help for usage)')
    // Program options only before a subcommand: `sim ocpp --version 1.6` is the subcommand's own.
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Examples:
  gridseam run --config examples/gateway.yaml
  gridseam db migrate --config gridseam.yaml
  gridseam devices list --site site-oakland-01 --json
  gridseam config check --config gridseam.yaml

Exit codes: 0 success, 1 failure, 2 configuration or usage error.`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, writeErr) => writeErr(text.startsWith('error:') ? text : `error: ${text}`),
    });

  const configOption = ['-c, --config <file>', `configuration file (default ./${DEFAULT_CONFIG_FILE})`] as const;

  program
    .command('version')
    .description('print the gridseam and Node.js versions')
    .action(() => {
      write(io.stdout, `gridseam ${version} (node ${process.version})`);
    });

  program
    .command('run')
    .description('start the gateway: store, bus, telemetry writer, operator API')
    .option(...configOption)
    .option('-p, --port <port>', 'listen on this port instead of api.port (0 picks a free port)', parsePort)
    .option('--host <host>', 'listen on this address instead of api.host')
    .action(async (options: { config?: string; port?: number; host?: string }) => {
      const { config, file } = await loadConfig(resolveConfigPath(options.config, io.cwd));
      const api = {
        ...config.api,
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.host === undefined ? {} : { host: options.host }),
      };
      const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
      logger.info({ config: file, store: describeStore(config.store), bus: config.bus.kind }, 'starting gateway');
      // Listen for SIGINT/SIGTERM before starting: a signal during start-up then closes the gateway
      // as soon as it is up, instead of killing the process half-way.
      const stopRequested = (io.waitForStop ?? waitForSignal)();
      const { startGateway } = await import('../app.ts');
      const gateway = await startGateway({ ...config, api }, { logger, env: io.env });
      logger.info({ address: gateway.address }, `gateway listening on ${gateway.address}`);
      const signal = await stopRequested;
      logger.info({ signal }, 'shutting down');
      await closeGracefully(() => gateway.close(), logger, EXIT_FAILURE);
      logger.info('gateway stopped');
      logger.flush();
    });

  const db = program.command('db').description('database maintenance');
  db.command('migrate')
    .description('apply pending database migrations and list them')
    .option(...configOption)
    .action(async (options: { config?: string }) => {
      const { config } = await loadConfig(resolveConfigPath(options.config, io.cwd));
      const applied = await withStore(config, (store) => store.migrate(), { create: true });
      const target = describeStore(config.store);
      if (applied.length === 0) write(io.stdout, `${target}: up to date, no migrations to apply`);
      else
        write(
          io.stdout,
          `${target}: applied ${applied.length} migration(s):\n${applied.map((n) => `  ${n}`).join('\n')}`,
        );
    });

  const devices = program.command('devices').description('the device registry');
  devices
    .command('list')
    .description('list devices, read from the store')
    .option(...configOption)
    .option('-s, --site <id>', 'only the devices of this site')
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: { config?: string; site?: string; json?: boolean }) => {
      const { config } = await loadConfig(resolveConfigPath(options.config, io.cwd));
      const list = await withStore(config, (store) => allDevices(store, options.site), { create: false });
      if (options.json) {
        write(io.stdout, JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        write(io.stdout, options.site ? `no devices at site ${options.site}` : 'no devices');
        return;
      }
      const rows = list.map((d) => [d.id, d.siteId, d.class, d.enabled ? 'yes' : 'no', d.adapter.kind, d.name ?? '']);
      write(io.stdout, formatTable(['id', 'site', 'class', 'enabled', 'adapter', 'name'], rows));
    });

  const configCommand = program.command('config').description('the configuration file');
  configCommand
    .command('check')
    .description('validate the configuration file (and that token environment variables are set)')
    .option(...configOption)
    .action(async (options: { config?: string }) => {
      const { config, file } = await loadConfig(resolveConfigPath(options.config, io.cwd));
      resolveApiTokens(config.api.tokens, io.env);
      const { fleet } = config;
      write(
        io.stdout,
        `OK ${file}: store ${describeStore(config.store)}; bus ${config.bus.kind}; api ${config.api.host}:${config.api.port}, ` +
          `${config.api.tokens.length} token(s); fleet ${fleet.sites.length} site(s), ${fleet.devices.length} device(s), ` +
          `${fleet.groups.length} group(s)`,
      );
    });

  registerSunSpecCommands(program, io);
  registerSimCommands(program, io);
  registerUtilityServerCommand(program, io);
  registerPkiCommand(program, io);
  registerOpenAdrCommands(program, io);
  registerDispatchCommands(program, io);
  registerSettleCommands(program, io);
  registerMarketCommands(program, io);
  registerDemoCommand(program, io);

  return program;
}

/** Errors the user can act on (config, validation, unreachable services, OS errors) print without a stack. */
function report(error: unknown, io: CliIo): number {
  if (GridseamError.is(error)) {
    write(io.stderr, `error: ${error.message} [${error.code}]`);
    return error.code === 'GW_ERR_CONFIG' || error.code === 'GW_ERR_VALIDATION' ? EXIT_CONFIG : EXIT_FAILURE;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    write(io.stderr, `error: ${error.message} [${code}]`);
    return EXIT_FAILURE;
  }
  write(
    io.stderr,
    `error: unexpected failure [GW_ERR_INTERNAL]\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return EXIT_FAILURE;
}

/** Runs the CLI with process-style arguments (argv[0] node, argv[1] the script); resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv, io: Partial<CliIo> = {}): Promise<number> {
  const fullIo: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    ...(io.waitForStop ? { waitForStop: io.waitForStop } : {}),
  };
  const program = buildProgram(fullIo);
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0; anything else is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_CONFIG;
    }
    return report(error, fullIo);
  }
}
