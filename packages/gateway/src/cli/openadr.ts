/**
 * `gridseam openadr vtn --config FILE`: an OpenADR 3 VTN (3.0.1 or 3.1.0) with its own OAuth2 token endpoint or
 * an external issuer, webhook subscriptions and its objects in the store. Runs until SIGINT or SIGTERM, then
 * closes gracefully (a second signal, or a close that hangs, forces the exit). Configuration problems print one
 * line naming the file and key, and exit 2. The OpenADR modules load only when the command runs.
 */
import type { Command } from 'commander';
import { createLogger } from '../log.ts';
import type { CliIo } from './main.ts';
import { redactUrl } from './output.ts';
import { closeGracefully } from './shutdown.ts';

/** main.ts EXIT_FAILURE (not imported as a value: main.ts imports this module). */
const EXIT_FAILURE = 1;

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

export function registerOpenAdrCommands(program: Command, io: CliIo): void {
  const openadr = program.command('openadr').description('OpenADR 3 (VTN)');
  openadr
    .command('vtn')
    .description('run an OpenADR 3 VTN (3.0.1 or 3.1.0): OAuth2, programs, events, reports, webhooks')
    .requiredOption('-c, --config <file>', 'VTN configuration (see examples/openadr-vtn.yaml)')
    .addHelpText(
      'after',
      `
Example:
  VTN_TOKEN_SECRET=$(openssl rand -hex 32) VTN_BL_SECRET=... VTN_VEN1_SECRET=... \\
    gridseam openadr vtn --config examples/openadr-vtn.yaml

Format: docs/openadr-vtn.md.`,
    )
    .action(async (options: { config: string }) => {
      const { loadVtnConfig, startOpenAdrVtn } = await import('../openadr/vtn.ts');
      const { config, file } = await loadVtnConfig(options.config);
      const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
      const store =
        config.store.kind === 'sqlite' ? `sqlite ${config.store.path}` : `postgres ${redactUrl(config.store.url)}`;
      logger.info(
        { config: file, version: config.version, store, clients: config.auth.clients.length },
        'starting OpenADR VTN',
      );
      // Listen for signals before starting, so one during start-up closes the VTN once it is up.
      const stopRequested = (io.waitForStop ?? waitForSignal)();
      const running = await startOpenAdrVtn(config, { logger, env: io.env, configFile: file });
      logger.info(
        { url: running.url, version: config.version },
        `OpenADR ${config.version} VTN listening on ${running.url}`,
      );
      const signal = await stopRequested;
      logger.info({ signal }, 'shutting down');
      await closeGracefully(() => running.close(), logger, EXIT_FAILURE);
      logger.info('OpenADR VTN stopped');
      logger.flush();
    });
}
