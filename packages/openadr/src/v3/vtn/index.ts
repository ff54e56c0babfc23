/** The OpenADR 3 VTN (3.0.1 or 3.1.0): contract, in-memory store, the server and its building blocks. */
export {
  type JsonObject as VtnJsonObject,
  type JsonValue as VtnJsonValue,
  OBJECT_TYPES,
  VTN_OBJECT_KINDS,
  type Vtn,
  type VtnAuthOptions,
  type VtnChange,
  type VtnClient,
  type VtnExternalIssuer,
  type VtnInjectRequest,
  type VtnInjectResponse,
  type VtnInternalIssuer,
  type VtnIssuerKey,
  type VtnLog,
  type VtnLogLevel,
  type VtnObjectKind,
  type VtnOptions,
  type VtnOwner,
  type VtnPrincipal,
  type VtnRole,
  type VtnStore,
  type VtnStoredDoc,
  type VtnStoredRecord,
  type VtnTokenKey,
  type VtnWebhookOptions,
  type VtnWebhookStats,
} from './contract.ts';
export { MemoryVtnStore } from './memory-store.ts';
export { defaultScopes, MAX_PAGE_LIMIT, operationsFor, type VtnOperation } from './operations.ts';
export { createVtn, DEFAULT_BODY_LIMIT, defaultBasePath } from './server.ts';
export { refusedAddressReason } from './webhooks.ts';
