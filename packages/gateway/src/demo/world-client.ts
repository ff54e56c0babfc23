/**
 * The main thread's handle on the demo's world thread (world.ts): starts it, waits for its servers,
 * and turns requests into promises. An error from the world comes back as the error the CLI prints
 * (GridseamError with its code, DemoStartError with its errno, else GW_ERR_INTERNAL); a world thread
 * that dies fails every pending request.
 */
import { Worker } from 'node:worker_threads';
import { type ErrorCode, GridseamError } from '@gridseam/model';
import { DemoStartError } from './errors.ts';
import type {
  FromWorld,
  ToWorld,
  WorldAnswers,
  WorldConfig,
  WorldError,
  WorldReady,
  WorldRequest,
} from './world-protocol.ts';

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxUrl !== undefined) (await import(workerData.tsxUrl)).register();
  await import(workerData.moduleUrl);
})();
`;

function tsxUrl(): string | undefined {
  if (!import.meta.url.endsWith('.ts')) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

export function errorFromWorld(error: WorldError): Error {
  if (error.gridseamCode !== undefined) return new GridseamError(error.gridseamCode as ErrorCode, error.message);
  if (error.errno !== undefined) return new DemoStartError(error.message, { code: error.errno });
  return new GridseamError('GW_ERR_INTERNAL', error.message);
}

export type WorldOptions = Omit<WorldConfig, 'gridseamDemoWorld' | 'moduleUrl' | 'tsxUrl'>;

export class WorldClient {
  readonly ready: WorldReady;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #seq = 0;
  #gone: Error | undefined;
  #closed: Promise<void> | undefined;

  private constructor(worker: Worker, ready: WorldReady) {
    this.#worker = worker;
    this.ready = ready;
    worker.on('message', (message: FromWorld) => {
      if (message.type !== 'answer' && message.type !== 'error') return;
      const entry = this.#pending.get(message.seq);
      if (entry === undefined) return;
      this.#pending.delete(message.seq);
      if (message.type === 'answer') entry.resolve(message.value);
      else entry.reject(errorFromWorld(message.error));
    });
    const fail = (reason: string) => {
      this.#gone ??= new GridseamError('GW_ERR_INTERNAL', `the demo's world thread stopped: ${reason}`);
      for (const [seq, entry] of this.#pending) {
        this.#pending.delete(seq);
        entry.reject(this.#gone);
      }
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
  }

  /** Starts the world thread and resolves once its servers listen (or rejects with why they could not). */
  static async start(options: WorldOptions): Promise<WorldClient> {
    const tsx = tsxUrl();
    const config: WorldConfig = {
      ...options,
      gridseamDemoWorld: true,
      moduleUrl: new URL('./world.ts', import.meta.url).href,
      ...(tsx === undefined ? {} : { tsxUrl: tsx }),
    };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: config });
    const ready = await new Promise<WorldReady>((resolve, reject) => {
      const onMessage = (message: FromWorld) => {
        if (message.type === 'ready') {
          cleanup();
          resolve(message.ready);
        } else if (message.type === 'failed') {
          cleanup();
          reject(errorFromWorld(message.error));
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(new GridseamError('GW_ERR_INTERNAL', `the demo's world thread failed to start: ${error.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new GridseamError('GW_ERR_INTERNAL', `the demo's world thread exited (${code}) before it was ready`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new WorldClient(worker, ready);
  }

  request<R extends WorldRequest>(request: R): Promise<WorldAnswers[R['op']]> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ seq, request } satisfies ToWorld);
    });
  }

  /** Closes the world's servers and simulators, then the thread (terminated if it does not answer). */
  close(timeoutMs = 30_000): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#gone === undefined) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.request({ op: 'close' }).catch(() => undefined),
          new Promise((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      await this.#worker.terminate();
    })();
    return this.#closed;
  }
}
