/**
 * What the OpenADR benchmark's processes tell each other over the IPC channel (JSON), and the names and
 * credentials every side derives from the same settings. The parent (openadr.bench.ts) drives a VTN child
 * (vtn-server.ts, store-backed; optionally a second one on the in-memory store), a floor child
 * (floor-server.ts) and the load generator (load.ts). The generic child plumbing and measuring helpers are the
 * OCPP benchmark's (../ocpp/child.ts, ../ocpp/protocol.ts).
 */
import type { ChildFailed, GcPauses, MemorySample, Percentiles } from '../ocpp/protocol.ts';

export type { ChildFailed, GcPauses, MemorySample, Percentiles };

export type Oadr3Version = '3.0.1' | '3.1.0';

/** Which server a measurement is against. */
export type TargetKind = 'vtn' | 'vtn-memory' | 'floor';

/** The target (3.1.0 string; 3.0.1 a GROUP value) granted to every benchmark VEN through its ven object. */
export const FLEET_GROUP = 'bench-fleet';
/** A group no benchmark VEN is in: its event must stay invisible to them. */
export const OTHER_GROUP = 'bench-elsewhere';
/** Events targeted at FLEET_GROUP (what each VEN sees), plus one at OTHER_GROUP. */
export const VISIBLE_EVENTS = 3;
export const BL_CLIENT_ID = 'bench-bl';

/** VEN i (0-based): OAuth client id, venName and client secret. */
export function venClientId(index: number): string {
  return `bench-ven-client-${String(index + 1).padStart(5, '0')}`;
}

export function venName(index: number): string {
  return `bench-ven-${String(index + 1).padStart(5, '0')}`;
}

export function clientSecret(secret: string, clientId: string): string {
  return `${secret}:${clientId}`;
}

// -------------------------------------------------------------------------------------------------------------
// Server under test (VTN or floor) <-> parent

export interface VtnServerSettings {
  version: Oadr3Version;
  vens: number;
  /** Client secrets are clientSecret(secret, clientId); the token signing secret is derived from it too. */
  secret: string;
  /** 'sqlite': the gateway's store-backed VtnStore on a SQLite file in `dir`; 'memory': MemoryVtnStore. */
  store: 'sqlite' | 'memory';
  /** Where the server may keep files (the SQLite file and the log). */
  dir: string;
  logLevel: string;
  /** When set: the CPU profile of the main thread over the measured rounds is written to this file. */
  cpuProfilePath?: string;
}

export interface FloorServerSettings {
  /** The VTN's base path, e.g. /openadr3/3.1.0. */
  basePath: string;
  /** The bytes and content type the VTN answered to GET /events and POST /reports. */
  eventsBody: string;
  reportBody: string;
  contentType: string;
  cpuProfilePath?: string;
}

export type ServerCommand =
  | { type: 'round-start' }
  | { type: 'round-end' }
  /** Ends the CPU profile (if any) and samples memory. */
  | { type: 'measure' }
  | { type: 'stop' };

export interface ServerReady {
  type: 'ready';
  /** The API's base URL (http://127.0.0.1:port/openadr3/3.1.0). */
  url: string;
  startupMs: number;
  baseline: MemorySample;
  /** VTN on SQLite: the database file. */
  databasePath?: string;
}

export interface ServerRound {
  type: 'round';
  /** CPU of the whole process (all threads) in the round, µs. */
  cpuMicros: number;
  ms: number;
  loopDelay: Percentiles;
  gc: GcPauses;
}

export interface ServerMeasured {
  type: 'measured';
  memory: MemorySample;
}

export interface ServerStopped {
  type: 'stopped';
  /** VTN on SQLite: documents in the VTN's namespace per kind, read from the file after close. */
  storedDocuments?: Record<string, number>;
  /** VTN: log lines at warn or above, and the first few. */
  warnLines?: number;
  firstWarnings?: string[];
}

export type ServerMessage = ServerReady | ServerRound | ServerMeasured | ServerStopped | ChildFailed;

// -------------------------------------------------------------------------------------------------------------
// Load generator <-> parent

export interface LoadSettings {
  version: Oadr3Version;
  vens: number;
  clients: number;
  secret: string;
  /** Polls (GET /events) per report (POST /reports). */
  pollsPerReport: number;
  /** Requests in flight during set-up. */
  setupConcurrency: number;
  requestTimeoutMs: number;
}

export type LoadCommand =
  /** Set a VTN up through its API (BL: program, events, vens; each VEN: its token) and capture its answers. */
  | { type: 'setup'; target: TargetKind; url: string }
  /** Point a target at a server set up earlier (the floor reuses the VTN's tokens and paths). */
  | { type: 'alias'; target: TargetKind; url: string; as: TargetKind }
  /** Run the VEN loop against a target for `seconds`; `record: false` for a warm-up. */
  | { type: 'round'; target: TargetKind; seconds: number; record: boolean }
  /** The percentiles of every recorded round of a target. */
  | { type: 'summary'; target: TargetKind }
  | { type: 'close' };

export interface SetupDone {
  type: 'setup-done';
  target: TargetKind;
  /** ms per phase: BL token, program and events, vens, VEN tokens, capture. */
  phases: { name: string; ms: number; requests: number }[];
  eventsBody: string;
  reportBody: string;
  contentType: string;
  /** Ids of the events each VEN sees (the bytes of every VEN's GET /events must equal eventsBody). */
  visibleEventIds: string[];
  basePath: string;
}

export interface RoundDone {
  type: 'round-done';
  target: TargetKind;
  ms: number;
  /** Answered inside the round. */
  polls: number;
  reports: number;
  errors: number;
  /** Every 201 answered to POST /reports, inside the round or after its end. */
  reportsCreated: number;
  /** Status (or 'timeout' / 'network' / 'body') -> count. */
  errorKinds: Record<string, number>;
  firstError?: string;
  /** The load generator's own event loop delay in the round. */
  loopDelay: Percentiles;
  /** The load generator's CPU in the round (all threads), µs. */
  cpuMicros: number;
  /** Distinct VENs that made at least one request in the round. */
  vensUsed: number;
}

export interface Summary {
  type: 'summary';
  target: TargetKind;
  all: Percentiles;
  polls: Percentiles;
  reports: Percentiles;
}

export interface LoadClosed {
  type: 'closed';
}

export type LoadMessage = SetupDone | RoundDone | Summary | LoadClosed | ChildFailed;
