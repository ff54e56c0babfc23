/**
 * `gridseam utility-server --config FILE [--scenario FILE]`: the IEEE 2030.5 utility server (CSIP /
 * CSIP-AUS headend) with its admin REST API, state in the store. Runs until SIGINT or SIGTERM, then
 * closes gracefully (a second signal, or a close that hangs, forces the exit), like `gridseam run`.
 * Configuration and scenario problems print one line naming the file and key, and exit 2. The
 * utility modules load only when the command runs.
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

export function registerUtilityServerCommand(program: Command, io: CliIo): void {
  program
    .command('utility-server')
    .description('run the IEEE 2030.5 utility server (CSIP / CSIP-AUS) and its admin API')
    .requiredOption('-c, --config <file>', 'utility server configuration (see examples/utility-server.yaml)')
    .option('-s, --scenario <file>', 'EndDevices, programs and controls to create at start (idempotent)')
    .addHelpText(
      'after',
      `
Examples:
  gridseam pki init --out ./pki
  gridseam utility-server --config examples/utility-server.yaml --scenario examples/utility-scenario.yaml

Formats: docs/utility-server.md.`,
    )
    .action(async (options: { config: string; scenario?: string }) => {
      const { loadUtilityConfig, loadScenario } = await import('../utility/index.ts');
      const { config, file } = await loadUtilityConfig(options.config);
      const scenario = options.scenario === undefined ? undefined : await loadScenario(options.scenario);
      const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
      const store =
        config.store.kind === 'sqlite' ? `sqlite ${config.store.path}` : `postgres ${redactUrl(config.store.url)}`;
      logger.info(
        { config: file, scenario: scenario?.file, profile: config.profile, store },
        'starting utility server',
      );
      // Listen for signals before starting, so one during start-up closes the server once it is up.
      const stopRequested = (io.waitForStop ?? waitForSignal)();
      const { startUtilityServer } = await import('../utility/index.ts');
      const running = await startUtilityServer(config, {
        logger,
        env: io.env,
        configFile: file,
        ...(scenario === undefined ? {} : { scenario: scenario.scenario, scenarioFile: scenario.file }),
      });
      const scheme = config.tls === undefined ? 'http' : 'https';
      logger.info(
        {
          sep: `${scheme}://${config.listen.host}:${running.sepPort}`,
          admin: `http://${config.admin.host}:${running.adminPort}`,
        },
        `utility server listening on ${config.listen.host}:${running.sepPort} (2030.5, ${scheme}) and ${config.admin.host}:${running.adminPort} (admin)`,
      );
      const signal = await stopRequested;
      logger.info({ signal }, 'shutting down');
      await closeGracefully(() => running.close(), logger, EXIT_FAILURE);
      logger.info('utility server stopped');
      logger.flush();
    });
}
