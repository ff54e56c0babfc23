/**
 * ocpp-rpc (CommonJS, typings with `any`) behind typed names. Its named exports are not visible to
 * Node's ESM loader, so the package is reached through its default export.
 */
import type { IncomingMessage } from 'node:http';
import ocppRpc from 'ocpp-rpc';

/** OCPP-J RPC error codes (1.6 §4.2.3, 2.0.1 Part 4 §4.3) that the CSMS answers with. */
export type RpcErrorCode =
  | 'NotImplemented'
  | 'NotSupported'
  | 'InternalError'
  | 'SecurityError'
  | 'GenericError'
  | 'ProtocolError'
  | 'PropertyConstraintViolation';

/** An error that ocpp-rpc sends as a CALLERROR with this code. */
export function rpcError(code: RpcErrorCode, message: string): Error {
  return ocppRpc.createRPCError(code, message) as unknown as Error;
}

export function isRpcError(error: unknown): boolean {
  return error instanceof ocppRpc.RPCError;
}

/** What ocpp-rpc's server hands the auth callback (lib/server.js handleUpgrade). */
export interface UpgradeHandshake {
  identity: string;
  endpoint: string;
  protocols: Set<string>;
  password: Buffer | undefined;
  remoteAddress: string | undefined;
  request: IncomingMessage;
}

export const RPCServer = ocppRpc.RPCServer;
export type RPCServer = InstanceType<typeof ocppRpc.RPCServer>;
