import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';

export const repoRoot = resolve(import.meta.dirname, '../../../..');
export const binPath = resolve(repoRoot, 'packages/gateway/bin/gridseam.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A minimal environment: no inherited GRIDSEAM_* or token variables leak into a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extra };
}

/** Runs `node bin/gridseam.js ...args` to completion. */
export function runCli(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [binPath, ...args],
      { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The same `main` the binary runs, in this process, with captured streams: for one-shot commands
 * whose cases need no process of their own (a spawn costs about 2 s of tsx start-up in CI). Keep at
 * least one `runCli` test per command so the binary itself stays covered.
 */
export async function runCliInProcess(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await main(['node', 'gridseam', ...args], {
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
    env: options.env ?? {},
    cwd: options.cwd,
  });
  return { code, stdout, stderr };
}

/** The example config with its sqlite file moved to `sqlitePath`. */
export async function exampleConfigText(sqlitePath: string): Promise<string> {
  const text = await readFile(resolve(repoRoot, 'examples/gateway.yaml'), 'utf8');
  const replaced = text.replace(/^ {2}path: \.\.\/data\/gridseam\.sqlite/m, `  path: ${JSON.stringify(sqlitePath)}`);
  if (replaced === text) throw new Error('examples/gateway.yaml no longer has the expected store path line');
  return replaced;
}

export interface RunningGateway {
  child: ChildProcessWithoutNullStreams;
  address: string;
  /** Every stdout line so far (JSON log lines). */
  lines: string[];
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Starts `gridseam run ...args` and resolves once it logs the address it listens on. */
export function startRun(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<RunningGateway> {
  const child = spawn(process.execPath, [binPath, 'run', ...args], {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolveStart, rejectStart) => {
    // A fail-safe so a broken start fails the test instead of hanging it; not a timing assertion.
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`gridseam run did not report an address; stderr: ${stderr}\nstdout: ${lines.join('\n')}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) {
        lines.push(line);
        let entry: { msg?: string; address?: string } | undefined;
        try {
          entry = JSON.parse(line) as { msg?: string; address?: string };
        } catch {
          continue;
        }
        if (entry.address && entry.msg?.startsWith('gateway listening')) {
          clearTimeout(guard);
          resolveStart({ child, address: entry.address, lines, stderr: () => stderr, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(guard);
      rejectStart(new Error(`gridseam run exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
}
