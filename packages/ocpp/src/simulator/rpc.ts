/**
 * The simulator's WebSocket side: ocpp-rpc's RPCClient behind a narrow typed interface (its own
 * typings use `any`), in strict mode so every CALL and CALLRESULT in both directions is checked
 * against the OCA schemas ocpp-rpc bundles (its validators compare 1.6's `multipleOf: 0.1` with a
 * tolerance, lib/validator.js, so one-decimal limits such as 8.1 pass).
 */
import { RPCClient } from 'ocpp-rpc';
import type { OcppVersion } from '../contract.ts';
import { SUBPROTOCOL_OF } from '../contract.ts';

/** One inbound CALL as ocpp-rpc hands it to a handler (params already schema-checked). */
export interface InboundCall {
  method: string;
  params: unknown;
  messageId: string;
}

export interface StrictValidationFailure {
  error: Error;
  method: string;
  params: unknown;
  outbound: boolean;
  isCall: boolean;
}

/** ocpp-rpc's client states (RPCClient.CONNECTING/OPEN/CLOSING/CLOSED). */
export const LINK_STATE = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** The subset of ocpp-rpc's RPCClient the simulator uses. */
export interface ClientLink {
  readonly state: number;
  readonly protocol: string | undefined;
  connect(): Promise<unknown>;
  close(options?: { code?: number; reason?: string; awaitPending?: boolean; force?: boolean }): Promise<unknown>;
  call(method: string, params: unknown, options?: { callTimeoutMs?: number }): Promise<unknown>;
  handle(method: string, handler: (call: InboundCall) => unknown): void;
  reconfigure(options: { password?: string | Buffer }): void;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'disconnect', listener: (event: { code?: number; reason?: string }) => void): unknown;
  on(event: 'close', listener: (event: { code?: number; reason?: string }) => void): unknown;
  on(event: 'strictValidationFailure', listener: (event: StrictValidationFailure) => void): unknown;
  on(event: 'socketError', listener: (error: Error) => void): unknown;
  on(event: 'badMessage', listener: (event: { error: Error }) => void): unknown;
  on(event: 'message', listener: (event: { outbound: boolean }) => void): unknown;
  removeAllListeners(): unknown;
}

export interface ClientLinkOptions {
  url: string;
  identity: string;
  version: OcppVersion;
  password?: string | Buffer;
  /** TLS (security profiles 2 and 3): the CA that signs the CSMS certificate, and our certificate for mTLS. */
  tls?: { ca: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  callTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  pingIntervalMs?: number;
}

export function openClientLink(options: ClientLinkOptions): ClientLink {
  const wsOpts: Record<string, unknown> = {};
  if (options.tls) {
    // OCPP 2.0.1 A00.FR.301 / 1.6 Security Whitepaper §2: TLS 1.2 or higher.
    wsOpts.minVersion = 'TLSv1.2';
    wsOpts.ca = options.tls.ca;
    if (options.tls.cert !== undefined) wsOpts.cert = options.tls.cert;
    if (options.tls.key !== undefined) wsOpts.key = options.tls.key;
  }
  const clientOptions = {
    endpoint: options.url,
    identity: options.identity,
    protocols: [SUBPROTOCOL_OF[options.version]],
    strictMode: true,
    callTimeoutMs: options.callTimeoutMs ?? 30_000,
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
    reconnect: true,
    maxReconnects: Number.POSITIVE_INFINITY,
    backoff: {
      initialDelay: options.reconnectMinMs ?? 1_000,
      maxDelay: options.reconnectMaxMs ?? 30_000,
      factor: 2,
      randomisationFactor: 0.25,
    },
    wsOpts,
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  // ocpp-rpc's declared option type requires every field; the object above carries what the
  // implementation reads (lib/client.js reconfigure()), the rest keeps ocpp-rpc's defaults.
  type RpcOptions = ConstructorParameters<typeof RPCClient>[0];
  return new RPCClient(clientOptions as unknown as RpcOptions) as unknown as ClientLink;
}
