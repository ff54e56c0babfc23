/**
 * The CSMS's view of one station connection: a narrow interface over ocpp-rpc's RPCServerClient
 * (whose typings use `any`), and the one place where a failed outbound call becomes a GridseamError.
 *
 * ocpp-rpc 2.2.1 facts used here (lib/client.js): strict mode validates an outbound call before it
 * is sent and the station's result when it arrives, both reported as 'strictValidationFailure' with
 * the very `params` object that was passed to call(); a call that is not answered in time rejects
 * with TimeoutError; a call in flight when the socket closes rejects with an AbortError; a CALLERROR
 * from the station rejects with an RPCError carrying `rpcErrorCode`.
 */
import { GridseamError } from '@gridseam/model';

/** One inbound CALL, as ocpp-rpc hands it to a handler (params already schema-checked in strict mode). */
export interface InboundCall {
  method: string;
  params: unknown;
  messageId: string;
}

export interface StrictValidationFailure {
  error: Error;
  messageId: string;
  method: string;
  params: unknown;
  result: unknown;
  outbound: boolean;
  isCall: boolean;
}

export interface CloseOptions {
  code?: number;
  reason?: string;
  awaitPending?: boolean;
  force?: boolean;
}

/** The subset of ocpp-rpc's RPCServerClient the CSMS uses. */
export interface StationLink {
  readonly identity: string;
  readonly protocol: string | undefined;
  readonly state: number;
  call(method: string, params: unknown, options?: { callTimeoutMs?: number }): Promise<unknown>;
  handle(method: string, handler: (call: InboundCall) => unknown): void;
  close(options?: CloseOptions): Promise<unknown>;
  on(event: 'close', listener: (event: { code?: number; reason?: string }) => void): unknown;
  on(event: 'strictValidationFailure', listener: (event: StrictValidationFailure) => void): unknown;
  on(event: 'badMessage', listener: (event: { error: Error }) => void): unknown;
  off(event: 'strictValidationFailure', listener: (event: StrictValidationFailure) => void): unknown;
}

/** ocpp-rpc's RPCClient.OPEN. */
export const LINK_OPEN = 1;

function rpcErrorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { rpcErrorCode?: unknown }).rpcErrorCode;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Sends one CALL and waits for its result. Failures become GridseamErrors:
 * our own request invalid against the schema -> GW_ERR_VALIDATION; the station's result invalid ->
 * GW_ERR_DEVICE_PROTOCOL; no answer in time or connection lost -> GW_ERR_DEVICE_UNREACHABLE
 * (retryable); CALLERROR NotImplemented / NotSupported -> GW_ERR_NOT_SUPPORTED; any other CALLERROR
 * -> GW_ERR_DEVICE_REJECTED with the RPC error code.
 */
export async function callStation<T>(
  link: StationLink,
  action: string,
  params: object,
  timeoutMs: number | undefined,
): Promise<T> {
  let requestProblem: Error | undefined;
  let resultProblem: Error | undefined;
  const onFailure = (event: StrictValidationFailure): void => {
    if (event.params !== params) return;
    if (event.outbound && event.isCall) requestProblem = event.error;
    else if (!event.outbound && !event.isCall) resultProblem = event.error;
  };
  link.on('strictValidationFailure', onFailure);
  try {
    return (await link.call(action, params, timeoutMs === undefined ? {} : { callTimeoutMs: timeoutMs })) as T;
  } catch (error) {
    throw callFailure(link.identity, action, error, requestProblem, resultProblem);
  } finally {
    link.off('strictValidationFailure', onFailure);
  }
}

function callFailure(
  identity: string,
  action: string,
  error: unknown,
  requestProblem: Error | undefined,
  resultProblem: Error | undefined,
): GridseamError {
  const details = { identity, action };
  if (requestProblem) {
    return new GridseamError(
      'GW_ERR_VALIDATION',
      `${action} for ${identity} does not match the OCPP schema: ${messageOf(requestProblem)}`,
      {
        details,
        cause: error,
      },
    );
  }
  if (resultProblem) {
    return new GridseamError(
      'GW_ERR_DEVICE_PROTOCOL',
      `${identity} answered ${action} with a result that does not match the OCPP schema: ${messageOf(resultProblem)}`,
      { details, cause: error },
    );
  }
  const name = error instanceof Error ? error.name : '';
  const rpcErrorCode = rpcErrorCodeOf(error);
  if (rpcErrorCode === undefined) {
    if (name === 'TimeoutError' || messageOf(error) === 'Call timeout') {
      return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `${identity} did not answer ${action} in time`, {
        details,
        cause: error,
      });
    }
    return new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `${action} to ${identity} failed: ${messageOf(error)}`, {
      details,
      cause: error,
    });
  }
  if (rpcErrorCode === 'NotImplemented' || rpcErrorCode === 'NotSupported') {
    return new GridseamError('GW_ERR_NOT_SUPPORTED', `${identity} does not support ${action} (${rpcErrorCode})`, {
      details: { ...details, rpcErrorCode },
      cause: error,
    });
  }
  return new GridseamError(
    'GW_ERR_DEVICE_REJECTED',
    `${identity} answered ${action} with CALLERROR ${rpcErrorCode}: ${messageOf(error)}`,
    { details: { ...details, rpcErrorCode }, cause: error },
  );
}
