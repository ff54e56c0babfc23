/**
 * A small CSMS for the simulator tests, built directly on ocpp-rpc's RPCServer in strict mode with
 * ocpp-rpc's own stock validators (an independent check of everything the simulator sends). It
 * answers the station's messages, records every CALL in order, can refuse connections (to take a
 * station "offline") and sends calls to a station.
 */
import type { AddressInfo } from 'node:net';
import { createRPCError, RPCServer } from 'ocpp-rpc';
import type { OcppVersion } from '../../src/contract.ts';

export interface RecordedCall {
  identity: string;
  method: string;
  params: Record<string, unknown>;
}

interface ServerClient {
  identity: string;
  handshake: { password: Buffer | undefined };
  handle(
    method: string | ((call: { method: string; params: unknown }) => unknown),
    handler?: (call: { method: string; params: unknown }) => unknown,
  ): void;
  call(method: string, params: unknown): Promise<unknown>;
  close(options?: { force?: boolean; code?: number }): Promise<unknown>;
}

export interface FakeCsmsOptions {
  version: OcppVersion;
  /** Basic-auth passwords by identity; when given, any other password is refused with 401. */
  passwords?: Record<string, string>;
  bootStatus?: 'Accepted' | 'Pending' | 'Rejected';
  heartbeatIntervalS?: number;
}

export class FakeCsms {
  readonly calls: RecordedCall[] = [];
  readonly passwordsSeen: Array<string | undefined> = [];
  readonly strictFailures: string[] = [];
  bootStatus: 'Accepted' | 'Pending' | 'Rejected';
  heartbeatIntervalS: number;
  /** While true every connection attempt is refused (503): the station is offline. */
  refuse = false;
  private readonly clients = new Map<string, ServerClient>();
  private nextTransactionId = 100;
  private waiters: Array<() => void> = [];
  private readonly server: RPCServer;
  url = '';

  private constructor(private readonly options: FakeCsmsOptions) {
    this.bootStatus = options.bootStatus ?? 'Accepted';
    this.heartbeatIntervalS = options.heartbeatIntervalS ?? 300;
    this.server = new RPCServer({
      protocols: [options.version === '1.6' ? 'ocpp1.6' : 'ocpp2.0.1'],
      strictMode: true,
    });
  }

  static async start(options: FakeCsmsOptions): Promise<FakeCsms> {
    const csms = new FakeCsms(options);
    await csms.listen();
    return csms;
  }

  private async listen(): Promise<void> {
    this.server.auth((accept, reject, handshake) => {
      if (this.refuse) return reject(503, 'offline');
      const password = handshake.password?.toString('utf8');
      this.passwordsSeen.push(password);
      const expected = this.options.passwords?.[handshake.identity];
      if (this.options.passwords && (expected === undefined || expected !== password))
        return reject(401, 'Unauthorized');
      accept();
    });
    this.server.on('client', (raw: unknown) => this.attach(raw as ServerClient));
    const http = await this.server.listen(0, '127.0.0.1');
    const { port } = http.address() as AddressInfo;
    this.url = `ws://127.0.0.1:${port}/ocpp`;
  }

  private attach(client: ServerClient): void {
    this.clients.set(client.identity, client);
    (client as unknown as NodeJS.EventEmitter).on(
      'strictValidationFailure',
      (event: { method: string; error: Error }) => {
        this.strictFailures.push(`${event.method}: ${event.error.message}`);
      },
    );
    const record = (method: string, params: unknown): void => {
      this.calls.push({ identity: client.identity, method, params: params as Record<string, unknown> });
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    };
    const now = (): string => new Date().toISOString();
    const answers: Record<string, (params: Record<string, unknown>) => unknown> = {
      BootNotification: () => ({ status: this.bootStatus, currentTime: now(), interval: this.heartbeatIntervalS }),
      Heartbeat: () => ({ currentTime: now() }),
      StatusNotification: () => ({}),
      MeterValues: () => ({}),
      StartTransaction: () => ({ transactionId: this.nextTransactionId++, idTagInfo: { status: 'Accepted' } }),
      StopTransaction: () => ({ idTagInfo: { status: 'Accepted' } }),
      TransactionEvent: () => ({}),
    };
    client.handle(({ method, params }) => {
      record(method, params);
      const answer = answers[method];
      if (!answer) throw createRPCError('NotImplemented', method);
      return answer(params as Record<string, unknown>);
    });
  }

  /** Resolves with the first recorded call (from `from` on) that matches; rejects after `timeoutMs`. */
  async waitFor(
    predicate: (call: RecordedCall) => boolean,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<RecordedCall> {
    const deadline = Date.now() + (options.timeoutMs ?? 5_000);
    for (;;) {
      const found = this.calls.slice(options.from ?? 0).find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.calls.map((c) => c.method).join(', ');
        throw new Error(`no matching call within the time limit; seen: ${seen}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  callsOf(method: string, identity?: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && (identity === undefined || c.identity === identity));
  }

  /** Sends a CALL to a connected station. */
  async call(identity: string, method: string, params: unknown): Promise<Record<string, unknown>> {
    const client = this.clients.get(identity);
    if (!client) throw new Error(`${identity} is not connected`);
    return (await client.call(method, params)) as Record<string, unknown>;
  }

  /** Drops the station's connection and refuses reconnects until `allow()`. */
  async takeOffline(identity: string): Promise<void> {
    this.refuse = true;
    const client = this.clients.get(identity);
    this.clients.delete(identity);
    await client?.close({ force: true });
  }

  allow(): void {
    this.refuse = false;
  }

  async close(): Promise<void> {
    await this.server.close({ force: true });
  }
}
