/**
 * `gridseam pki init --out DIR [--clients N] [--aggregators N] [--server-host HOST]... [--force] [--json]`:
 * writes an IEEE 2030.5 test PKI (a CA, a server certificate, device and aggregator client certificates, all
 * in the 2030.5 certificate profile) and prints each certificate's LFDI and SFDI. The IEEE 2030.5 package
 * loads only when the command runs.
 *
 * Files (paths relative to DIR; each certificate as NAME.cert.pem, NAME.key.pem and the DER NAME.x509 that
 * the LFDI is hashed over): ca.*, server.*, clients/device-N.*, clients/aggregator-N.*, and pki.json (the
 * manifest: name, kind, lfdi, sfdi, files). --json prints {"dir", ...manifest}. Exit codes: 0 written;
 * 2 usage errors, including a DIR that already holds a PKI (pass --force to replace it).
 */
import { resolve } from 'node:path';
import { GridseamError } from '@gridseam/model';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from './main.ts';
import { formatTable } from './output.ts';

/** The most client certificates one `pki init` makes (devices and aggregators together). */
export const MAX_PKI_CLIENTS = 10_000;

interface PkiInitOptions {
  out: string;
  clients: number;
  aggregators: number;
  serverHost: string[];
  force?: boolean;
  json?: boolean;
}

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function usage(message: string, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, cause === undefined ? {} : { cause });
}

function count(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) > MAX_PKI_CLIENTS)
      throw new InvalidArgumentError(`${name} must be an integer from 0 to ${MAX_PKI_CLIENTS}`);
    return Number(value);
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerPkiCommand(program: Command, io: CliIo): void {
  const pki = program.command('pki').description('IEEE 2030.5 test certificates (for tests and development only)');
  pki
    .command('init')
    .description(
      'write a 2030.5 test PKI: a CA, a server certificate and client certificates, and print their LFDI/SFDI',
    )
    .requiredOption('--out <dir>', 'folder to write (created if missing)')
    .option('--clients <n>', 'device client certificates (device-1 … device-N)', count('--clients'), 1)
    .option('--aggregators <n>', 'aggregator client certificates (aggregator-1 … -N)', count('--aggregators'), 0)
    .option(
      '--server-host <host>',
      'also name this host or IP in the server certificate, for clients that check host names (repeatable)',
      collect,
      [],
    )
    .option('--force', 'replace a PKI that is already in --out')
    .option('--json', 'print the manifest as one JSON object instead of a table')
    .addHelpText(
      'after',
      `
The private keys are written unencrypted (mode 0600): these certificates are for tests only.
2030.5 clients such as the EPRI client load the DER certificate (.x509); the LFDI is SHA-256 over its bytes.

Examples:
  gridseam pki init --out ./pki --clients 3 --aggregators 1
  gridseam pki init --out ./pki --server-host localhost --server-host 127.0.0.1 --force --json`,
    )
    .action(async (options: PkiInitOptions) => {
      const dir = resolve(io.cwd, options.out);
      const total = options.clients + options.aggregators;
      if (total > MAX_PKI_CLIENTS)
        throw usage(`--clients and --aggregators together must be at most ${MAX_PKI_CLIENTS} (got ${total})`);
      const lib = await import('@gridseam/ieee2030-5');
      const refuse = () =>
        usage(`${dir} already holds a test PKI (pki.json): pass --force to replace it, or choose another --out`);
      if (!options.force && lib.hasTestPki(dir)) throw refuse();

      const clients = [
        ...Array.from({ length: options.clients }, (_, i) => ({ name: `device-${i + 1}`, kind: 'device' as const })),
        ...Array.from({ length: options.aggregators }, (_, i) => ({
          name: `aggregator-${i + 1}`,
          kind: 'aggregator' as const,
        })),
      ];
      let manifest: Awaited<ReturnType<typeof lib.writeTestPki>>;
      try {
        const created = await lib.createTestPki({ clients, serverHostnames: options.serverHost });
        manifest = await lib.writeTestPki(created, dir, { overwrite: options.force === true });
      } catch (error) {
        if (GridseamError.is(error) && error.code === 'GW_ERR_CONFLICT') throw refuse();
        throw error;
      }

      if (options.json) {
        write(io.stdout, JSON.stringify({ dir, ...manifest }, null, 2));
        return;
      }
      const rows = [
        [
          manifest.server.name,
          'server',
          manifest.server.lfdi,
          String(manifest.server.sfdi),
          manifest.server.files.x509,
        ],
        ...manifest.clients.map((c) => [c.name, c.kind, c.lfdi, String(c.sfdi), c.files.x509]),
      ];
      write(
        io.stdout,
        `IEEE 2030.5 test PKI written to ${dir} (CA ${manifest.ca.files.cert}; manifest pki.json)\n` +
          `TEST certificates with unencrypted keys: for tests and development only.\n\n` +
          formatTable(['name', 'kind', 'lfdi', 'sfdi', 'certificate'], rows),
      );
    });
}
