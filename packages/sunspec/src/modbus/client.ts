/**
 * The Modbus TCP transport: ModbusTransport over one TCP connection to a device or gateway.
 *
 * - Requests on one connection are serialised (one in flight); the unit id is set per request,
 *   so several units behind one gateway share the connection.
 * - Per-request timeout; retries with exponential back-off (backoffMs x 2^attempt) on timeouts,
 *   lost connections and malformed frames, never on a Modbus exception response.
 * - After a timeout or a malformed frame the connection is dropped and a new one opened on the
 *   next attempt, so a late or partial answer cannot be read as the reply to a later request
 *   (modbus-serial also closes on some timeouts, see device_edge.md 5.1).
 * - Errors: GW_ERR_VALIDATION (bad arguments, > 125 / > 123 registers: splitting on model
 *   boundaries is the caller's job), GW_ERR_DEVICE_UNREACHABLE, GW_ERR_DEVICE_PROTOCOL,
 *   GW_ERR_DEVICE_REJECTED, all with `details: { unit, address, count, modbusException? }`.
 *
 * Engines (the connection below the retry logic; see link.ts):
 * - 'mbap' (default): our codec (mbap.ts) over node:net.
 * - 'modbus-serial': modbus-serial's ModbusRTU client, the library the architecture guide prefers.
 * Why the default is not modbus-serial, measured (test/modbus/client.test.ts, bench/modbus-server.bench.ts):
 * modbus-serial drops a response with a wrong transaction id and waits forever on a truncated
 * frame, so both only show up as timeouts (GW_ERR_DEVICE_UNREACHABLE after timeoutMs x attempts),
 * where issue 3 asks for clear errors; 'mbap' reports both at once as GW_ERR_DEVICE_PROTOCOL. It
 * also checks the protocol id and uses 16-bit transaction ids (modbus-serial wraps at 256), and it
 * served about 2x the requests per second of the modbus-serial engine on one connection.
 */
import { type ErrorCode, GridseamError } from '@gridseam/model';
import type { ModbusLink, ModbusLinkFactory, RequestContext } from './link.ts';
import { checkRegisterRange } from './mbap.ts';
import { connectMbapLink } from './mbap-link.ts';
import { connectModbusSerialLink } from './modbus-serial-link.ts';
import { MAX_READ_REGISTERS, MAX_WRITE_REGISTERS, type ModbusTransport } from './transport.ts';

export type ModbusTcpEngine = 'modbus-serial' | 'mbap';

export interface ModbusTcpOptions {
  host: string;
  port: number;
  /** Time to wait for each response; default 1000 ms. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure; default 2 (so 3 attempts in all). */
  retries?: number;
  /** Back-off before retry n (0-based): backoffMs x 2^n; default 100 ms. */
  backoffMs?: number;
  /** Default: timeoutMs. */
  connectTimeoutMs?: number;
  /** Default 'mbap'; 'modbus-serial' wraps the modbus-serial library instead. */
  engine?: ModbusTcpEngine;
}

export interface ModbusTcpStats {
  /** Read and write calls accepted (validation failures excluded). */
  requests: number;
  /** Attempts repeated after a retryable failure. */
  retries: number;
  /** Connections opened after the first one. */
  reconnects: number;
  /** Calls that finally failed, by error code. */
  errors: Partial<Record<ErrorCode, number>>;
}

export interface ModbusTcpTransport extends ModbusTransport {
  readonly stats: ModbusTcpStats;
  readonly engine: ModbusTcpEngine;
  /** Whether a connection is open right now (it reopens on the next request if not). */
  readonly connected: boolean;
}

const ENGINES: Record<ModbusTcpEngine, ModbusLinkFactory> = {
  'modbus-serial': connectModbusSerialLink,
  mbap: connectMbapLink,
};

/** Opens the connection (with the same retries as a request) and returns the transport. */
export async function openModbusTcp(options: ModbusTcpOptions): Promise<ModbusTcpTransport> {
  const transport = new ModbusTcpClient(options);
  try {
    await transport.connect();
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

function checkOptions(options: ModbusTcpOptions): void {
  const issues: { path: string; message: string }[] = [];
  if (typeof options.host !== 'string' || options.host === '') issues.push({ path: '/host', message: 'required' });
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    issues.push({ path: '/port', message: 'expected an integer 1..65535' });
  }
  for (const key of ['timeoutMs', 'connectTimeoutMs', 'backoffMs', 'retries'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= (key === 'timeoutMs' ? 1 : 0))) {
      issues.push({ path: `/${key}`, message: 'expected a non-negative integer' });
    }
  }
  if (options.engine !== undefined && !(options.engine in ENGINES)) {
    issues.push({ path: '/engine', message: `expected one of ${Object.keys(ENGINES).join(', ')}` });
  }
  if (issues.length > 0) {
    throw new GridseamError('GW_ERR_VALIDATION', 'invalid Modbus TCP options', { issues });
  }
}

function checkUnit(unit: number): void {
  if (!Number.isInteger(unit) || unit < 0 || unit > 255) {
    throw new GridseamError('GW_ERR_VALIDATION', `unit id must be an integer 0..255, got ${unit}`, {
      issues: [{ path: '/unit', message: 'expected an integer 0..255' }],
    });
  }
}

class ModbusTcpClient implements ModbusTcpTransport {
  readonly stats: ModbusTcpStats = { requests: 0, retries: 0, reconnects: 0, errors: {} };
  readonly engine: ModbusTcpEngine;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly connectTimeoutMs: number;
  private readonly connectLink: ModbusLinkFactory;
  private readonly abort = new AbortController();
  private link: ModbusLink | undefined;
  private everConnected = false;
  /** Requests waiting for the connection, in call order; one runs at a time. */
  private readonly jobs: Job[] = [];
  private busy = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: ModbusTcpOptions) {
    checkOptions(options);
    this.host = options.host;
    this.port = options.port;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 100;
    this.connectTimeoutMs = options.connectTimeoutMs ?? this.timeoutMs;
    this.engine = options.engine ?? 'mbap';
    this.connectLink = ENGINES[this.engine];
  }

  get connected(): boolean {
    return this.link?.isOpen === true;
  }

  connect(): Promise<void> {
    return this.enqueue(undefined, async () => undefined);
  }

  readHoldingRegisters(unit: number, address: number, count: number): Promise<Uint16Array> {
    try {
      checkUnit(unit);
      checkRegisterRange(address, count, MAX_READ_REGISTERS);
    } catch (error) {
      return Promise.reject(error);
    }
    this.stats.requests++;
    return this.enqueue({ unit, address, count }, (link) =>
      link.readHoldingRegisters(unit, address, count, this.timeoutMs),
    );
  }

  writeRegisters(unit: number, address: number, values: Uint16Array | readonly number[]): Promise<void> {
    let registers: Uint16Array;
    try {
      checkUnit(unit);
      checkRegisterRange(address, values.length, MAX_WRITE_REGISTERS);
      registers = toRegisters(values);
    } catch (error) {
      return Promise.reject(error);
    }
    this.stats.requests++;
    return this.enqueue({ unit, address, count: registers.length }, (link) =>
      link.writeRegisters(unit, address, registers, this.timeoutMs),
    );
  }

  /** Drops the connection; requests in flight or queued reject with GW_ERR_DEVICE_UNREACHABLE. */
  async close(): Promise<void> {
    this.abort.abort();
    this.link?.destroy();
    this.link = undefined;
    if (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue<T>(context: RequestContext | undefined, operation: (link: ModbusLink) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ context, operation, resolve: resolve as (value: unknown) => void, reject });
      if (!this.busy) this.next();
    });
  }

  /**
   * Starts the next request, if any. On an open link the first attempt is made directly (no
   * async frame); a failure goes through `attempt` for the retries. A finished request starts the
   * next one before its caller resumes, so the next request is on the wire while the caller works
   * on the answer.
   */
  private next(): void {
    const job = this.jobs.shift();
    if (job === undefined) {
      this.busy = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    this.busy = true;
    const link = this.link;
    if (link?.isOpen && !this.abort.signal.aborted) {
      let first: Promise<unknown>;
      try {
        first = job.operation(link);
      } catch (error) {
        first = Promise.reject(error);
      }
      first.then(
        (value) => this.settle(job, true, value),
        (error: unknown) => this.retry(job, { error }),
      );
      return;
    }
    this.retry(job, undefined);
  }

  private retry(job: Job, firstFailure: { error: unknown } | undefined): void {
    this.attempt(job.context, job.operation, firstFailure).then(
      (value) => this.settle(job, true, value),
      (error: unknown) => this.settle(job, false, error),
    );
  }

  private settle(job: Job, ok: boolean, outcome: unknown): void {
    this.next();
    if (ok) job.resolve(outcome);
    else job.reject(outcome);
  }

  /** Attempts with retries; `firstFailure` is the outcome of an attempt 0 already made. */
  private async attempt<T>(
    context: RequestContext | undefined,
    operation: (link: ModbusLink) => Promise<T>,
    firstFailure?: { error: unknown },
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let failure: GridseamError;
      if (attempt === 0 && firstFailure !== undefined) {
        failure = withContext(firstFailure.error, context);
      } else {
        try {
          if (this.abort.signal.aborted)
            throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'the transport is closed');
          // An open link is used at once (no extra await on the hot path).
          const link = this.link?.isOpen ? this.link : await this.currentLink();
          return await operation(link);
        } catch (error) {
          failure = withContext(error, context);
        }
      }
      // A Modbus exception is the device's answer (or its gateway's): asking again won't change it.
      const isException = failure.details?.modbusException !== undefined;
      if (!isException) this.dropLink();
      if (!failure.retryable || isException || attempt >= this.retries || this.abort.signal.aborted) {
        this.stats.errors[failure.code] = (this.stats.errors[failure.code] ?? 0) + 1;
        throw failure;
      }
      this.stats.retries++;
      await this.sleep(this.backoffMs * 2 ** attempt);
    }
  }

  private async currentLink(): Promise<ModbusLink> {
    if (this.link?.isOpen) return this.link;
    this.link = undefined;
    const link = await this.connectLink(
      { host: this.host, port: this.port, connectTimeoutMs: this.connectTimeoutMs },
      this.abort.signal,
    );
    if (this.abort.signal.aborted) {
      link.destroy();
      throw new GridseamError('GW_ERR_DEVICE_UNREACHABLE', 'the transport is closed');
    }
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.link = link;
    return link;
  }

  private dropLink(): void {
    this.link?.destroy();
    this.link = undefined;
  }

  /** Back-off that ends early when the transport closes. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }
}

interface Job {
  context: RequestContext | undefined;
  operation: (link: ModbusLink) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

function toRegisters(values: Uint16Array | readonly number[]): Uint16Array {
  if (values instanceof Uint16Array) return values;
  const registers = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new GridseamError('GW_ERR_VALIDATION', `register value ${i} must be an integer 0..65535, got ${value}`, {
        issues: [{ path: `/values/${i}`, message: 'expected an integer 0..65535' }],
      });
    }
    registers[i] = value;
  }
  return registers;
}

/** Every error leaves the transport as a GridseamError carrying the request's unit/address/count. */
function withContext(error: unknown, context: RequestContext | undefined): GridseamError {
  if (GridseamError.is(error)) {
    if (context === undefined || error.details?.unit !== undefined) return error;
    return new GridseamError(error.code, error.message, {
      cause: error.cause,
      details: { ...error.details, ...context },
    });
  }
  return new GridseamError('GW_ERR_INTERNAL', `Modbus transport failure: ${String(error)}`, {
    cause: error,
    ...(context ? { details: { ...context } } : {}),
  });
}
