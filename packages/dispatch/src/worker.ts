/**
 * DispatchWorker: plans in a worker_threads worker, because a HiGHS solve is synchronous WASM
 * and would block the event loop for its whole duration. The worker holds a DispatchSession, so
 * persistent models (one per key) are re-solved warm when only prices or soc0 change; they are
 * disposed when the worker closes. A worker that dies (a crash, an abort) fails the requests it
 * held with GW_ERR_INTERNAL and a new one is started by the next request.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ERROR_CODES, type ErrorCode, GridseamError, type ValidationIssue } from '@gridseam/model';
import type { Plan, PlanRequest } from './contract.ts';
import { DispatchSession } from './solve.ts';

export interface DispatchWorkerOptions {
  /** Persistent models kept in the worker (one per key); default 4. */
  maxModels?: number;
  /** Lets `crashForTest()` kill the worker; for tests of the restart path only. */
  testHooks?: boolean;
}

export interface PlanOptions {
  /** Names the persistent model to reuse (e.g. the fleet id); default "default". */
  key?: string;
}

interface WorkerConfig {
  /** Marks a worker started by DispatchWorker. */
  gridseamDispatchWorker: true;
  moduleUrl: string;
  tsxUrl: string | undefined;
  maxModels: number;
  testHooks: boolean;
}

interface SerializedError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  issues?: readonly ValidationIssue[];
}

type ToWorker =
  | { type: 'plan'; seq: number; request: PlanRequest; key: string }
  | { type: 'close' }
  | { type: 'crash' };
type FromWorker = { type: 'plan'; seq: number; plan: Plan } | { type: 'error'; seq: number; error: SerializedError };

/**
 * Loads this module in the worker. Under tsx (tests, development) the loader hooks are not
 * inherited by worker threads, so the worker registers tsx before importing this .ts module.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxUrl !== undefined) (await import(workerData.tsxUrl)).register();
  await import(workerData.moduleUrl);
})();
`;

function resolveTsx(): string | undefined {
  if (!import.meta.url.endsWith('.ts')) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

function serializeError(error: unknown): SerializedError {
  if (GridseamError.is(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: { ...error.details } } : {}),
      ...(error.issues.length > 0 ? { issues: error.issues } : {}),
    };
  }
  return { code: 'GW_ERR_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

function deserializeError(error: SerializedError): GridseamError {
  const code: ErrorCode = error.code in ERROR_CODES ? (error.code as ErrorCode) : 'GW_ERR_INTERNAL';
  return new GridseamError(code, error.message, {
    ...(error.details ? { details: error.details } : {}),
    ...(error.issues ? { issues: error.issues } : {}),
  });
}

interface Pending {
  resolve(plan: Plan): void;
  reject(error: unknown): void;
}

export class DispatchWorker {
  readonly #options: Required<DispatchWorkerOptions>;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #starts = 0;
  #closing: Promise<void> | undefined;

  constructor(options: DispatchWorkerOptions = {}) {
    this.#options = { maxModels: options.maxModels ?? 4, testHooks: options.testHooks ?? false };
  }

  /** Worker threads started so far (1 + restarts after crashes). */
  get threadsStarted(): number {
    return this.#starts;
  }

  /** Plans in the worker; requests are solved one at a time, in order. */
  plan(request: PlanRequest, options: PlanOptions = {}): Promise<Plan> {
    if (this.#closing) return Promise.reject(new GridseamError('GW_ERR_INTERNAL', 'the dispatch worker is closed'));
    const worker = this.#worker ?? this.#start();
    const seq = ++this.#seq;
    return new Promise<Plan>((resolve, reject) => {
      const message: ToWorker = { type: 'plan', seq, request, key: options.key ?? 'default' };
      try {
        worker.postMessage(message);
      } catch (error) {
        reject(
          new GridseamError('GW_ERR_VALIDATION', 'the plan request is not plain data (numbers, strings, arrays)', {
            cause: error,
          }),
        );
        return;
      }
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(seq, { resolve, reject });
    });
  }

  /** Ends the worker: requests already sent are answered first, then its models are disposed. */
  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  /** Kills the worker thread abruptly (only with `testHooks`), as a crash would. */
  crashForTest(): void {
    if (!this.#options.testHooks) throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'test hooks are not enabled');
    this.#worker?.postMessage({ type: 'crash' } satisfies ToWorker);
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    await exited;
  }

  #start(): Worker {
    const config: WorkerConfig = {
      gridseamDispatchWorker: true,
      moduleUrl: import.meta.url,
      tsxUrl: resolveTsx(),
      maxModels: this.#options.maxModels,
      testHooks: this.#options.testHooks,
    };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: config });
    this.#starts++;
    worker.unref();
    this.#worker = worker;
    let failure: string | undefined;
    worker.on('message', (message: FromWorker) => {
      const entry = this.#pending.get(message.seq);
      if (!entry) return;
      this.#pending.delete(message.seq);
      if (this.#pending.size === 0 && !this.#closing) worker.unref();
      if (message.type === 'plan') entry.resolve(message.plan);
      else entry.reject(deserializeError(message.error));
    });
    worker.on('error', (error) => {
      failure = error instanceof Error ? error.message : String(error);
    });
    worker.once('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      const reason = failure ?? `exit code ${code}`;
      for (const [seq, entry] of this.#pending) {
        this.#pending.delete(seq);
        entry.reject(
          new GridseamError('GW_ERR_INTERNAL', `the dispatch worker stopped (${reason}) before answering`, {
            details: { reason },
          }),
        );
      }
    });
    return worker;
  }
}

function isWorkerConfig(data: unknown): data is WorkerConfig {
  return typeof data === 'object' && data !== null && (data as Partial<WorkerConfig>).gridseamDispatchWorker === true;
}

/** The worker's loop: one session, requests solved in arrival order; close disposes the models. */
function serveWorker(config: WorkerConfig): void {
  const port = parentPort;
  if (!port) return;
  const opening = DispatchSession.open({ maxModels: config.maxModels });
  opening.catch(() => undefined); // a failed load is answered per request
  // Handled in order: each request waits for the one before (the first also for HiGHS to load).
  let queue: Promise<unknown> = opening;
  const send = (message: FromWorker) => port.postMessage(message);
  port.on('message', (message: ToWorker) => {
    if (message.type === 'crash') {
      if (config.testHooks) process.exit(70);
      return;
    }
    if (message.type === 'close') {
      queue = queue
        .then(() => opening)
        .then((session) => session.dispose())
        .catch(() => undefined)
        .finally(() => port.close());
      return;
    }
    queue = queue
      .catch(() => undefined)
      .then(async () => {
        try {
          const session = await opening;
          send({ type: 'plan', seq: message.seq, plan: session.plan(message.request, message.key) });
        } catch (error) {
          send({ type: 'error', seq: message.seq, error: serializeError(error) });
        }
      });
  });
}

if (!isMainThread && isWorkerConfig(workerData)) serveWorker(workerData);
