/**
 * The messages between the demo's main thread (the gateway, the scenario, the terminal) and its
 * world thread (world.ts: the SunSpec simulators, the OCPP stations and both utility servers). Plain
 * data only (structured clone).
 */
import type { ResponseRecord } from '@gridseam/ieee2030-5';
import type { EvSpec } from '@gridseam/ocpp';
import type { DemoPaths } from './data.ts';
import type { DemoProfile, ScenarioPlan } from './scenario.ts';

export interface WorldConfig {
  /** Marks workerData as ours. */
  gridseamDemoWorld: true;
  /** The module to load in the thread (world.ts) and tsx's register entry (when running from TypeScript). */
  moduleUrl: string;
  tsxUrl?: string;
  sites: number;
  profile: DemoProfile;
  speed: number;
  startOffsetMs: number;
  seed: number;
  paths: DemoPaths;
  aggregatorLfdi: string;
  caPem: string;
  sepPollSeconds: number;
  sepPostSeconds: number;
  /** wss://127.0.0.1:PORT/ocpp: the gateway's CSMS, reserved before it listens. */
  ocppEndpoint: string;
  ocppPassword: string;
  verbose: boolean;
}

/** What the world tells the main thread once its servers listen. */
export interface WorldReady {
  sepPort: number;
  vtnUrl: string;
  venSecret: string;
  modbusPorts: number[];
}

export type WorldRequest =
  | { op: 'startStations' }
  | { op: 'startClock'; realStartMs: number }
  | { op: 'setOnline'; unit: number; online: boolean }
  | { op: 'plugIn'; identity: string; ev: EvSpec }
  | { op: 'publishControl'; plan: ScenarioPlan['utilityControl']; window: { startS: number; durationS: number } }
  | { op: 'publishPeak'; plan: ScenarioPlan['peakEvent']; window: { startMs: number; durationS: number } }
  | { op: 'responses'; mRID: string }
  | { op: 'reportCount'; eventId: string }
  | { op: 'stationsBooted' }
  | { op: 'close' };

/** The answer to each request kind. */
export interface WorldAnswers {
  startStations: undefined;
  startClock: undefined;
  setOnline: undefined;
  plugIn: boolean;
  publishControl: string;
  publishPeak: string;
  responses: ResponseRecord[];
  reportCount: number;
  stationsBooted: number;
  close: undefined;
}

/** An error crossing the thread boundary: enough to rebuild the one line the CLI prints. */
export interface WorldError {
  message: string;
  /** A GridseamError's code (GW_ERR_*). */
  gridseamCode?: string;
  /** An errno code (EADDRINUSE ...). */
  errno?: string;
}

export type ToWorld = { seq: number; request: WorldRequest };

export type FromWorld =
  | { type: 'ready'; ready: WorldReady }
  | { type: 'failed'; error: WorldError }
  | { type: 'answer'; seq: number; value: unknown }
  | { type: 'error'; seq: number; error: WorldError };
