/**
 * The gateway configuration of `gridseam demo`, built in code and validated by the same schema and
 * cross-key rules as a YAML file (parseConfigObject), so a bad option is a clear GW_ERR_CONFIG.
 *
 * Cadences follow the fleet's size (cadenceFor): small fleets poll every second so even a day in a
 * minute (speed 1440) shows every step; thousands of sites poll less often so two cores keep up.
 */
import { createHash } from 'node:crypto';
import { type GatewayConfig, parseConfigObject } from '../config/index.ts';
import type { DemoPaths } from './data.ts';
import type { FleetPlan } from './fleet.ts';
import type { DemoProfile } from './scenario.ts';
import { CHARGER_MAX_CURRENT_A } from './scenario.ts';
import { CHARGER_PHASES, CHARGER_VOLTAGE } from './simulators.ts';
import { OADR_PROGRAM_NAME, OADR_PROGRAM_PRIMACY, VEN_CLIENT_ID, VEN_NAME, VEN_SECRET_ENV } from './utilities.ts';

export const OPERATOR_TOKEN_NAME = 'demo-operator';
export const OCPP_PATH = '/ocpp';
export const VIEWER_TOKEN_NAME = 'demo-viewer';

export interface DemoCadence {
  /** SunSpec poll interval, ms. */
  pollMs: number;
  /** OCPP stations' poll interval (draining what they pushed), ms. */
  ocppPollMs: number;
  /** Real seconds between a charging station's MeterValues. */
  ocppMeterSeconds: number;
  /** The control engine's period, s. */
  controlPeriodSeconds: number;
  /** 2030.5 pollRate the utility gives, s. */
  sepPollSeconds: number;
  /** 2030.5 mirror postRate and DER report interval, s. */
  sepPostSeconds: number;
  /** OpenADR 3 VEN poll, s. */
  oadrPollSeconds: number;
  /** OpenADR 3 report pace and telemetry sampling, s. */
  oadrReportSeconds: number;
  /** How often the run samples the control engine's compliance, ms. */
  complianceSampleMs: number;
  /**
   * The telemetry writer's idle flush (StartGatewayOptions.telemetryIdleFlushMs), ms: fewer, larger
   * commits at scale, so the engine's many telemetry reads seldom wait for one.
   */
  telemetryIdleFlushMs: number;
}

/** Up to this many sites everything runs at its fastest (every second). */
export const SMALL_FLEET_SITES = 200;

/**
 * Cadences for a fleet of `sites` (three SunSpec devices each, a charger on every other). Up to
 * SMALL_FLEET_SITES sites every loop runs each second, so a day in a minute (speed 1440) still
 * shows every step. Above it the loops slow in proportion, so one process on two cores keeps up:
 * for 2,000 sites SunSpec polls every 20 s (300 polls/s), stations send meter values every 10 s,
 * the engine decides every 5 s, the 2030.5 client polls every 60 s (Notifications bring changes at
 * once) and posts every 300 s.
 */
export function cadenceFor(sites: number): DemoCadence {
  if (sites <= SMALL_FLEET_SITES)
    return {
      pollMs: 1000,
      ocppPollMs: 1000,
      ocppMeterSeconds: 2,
      controlPeriodSeconds: 1,
      sepPollSeconds: 2,
      sepPostSeconds: 5,
      oadrPollSeconds: 2,
      oadrReportSeconds: 5,
      complianceSampleMs: 1000,
      telemetryIdleFlushMs: 5,
    };
  return {
    pollMs: Math.min(20, Math.ceil(sites / 100)) * 1000,
    ocppPollMs: 2000,
    ocppMeterSeconds: 10,
    controlPeriodSeconds: Math.min(5, Math.ceil(sites / 400)),
    sepPollSeconds: Math.min(60, Math.ceil(sites / 25)),
    sepPostSeconds: Math.min(300, Math.ceil(sites / 5)),
    oadrPollSeconds: 2,
    oadrReportSeconds: 30,
    complianceSampleMs: sites * 20,
    telemetryIdleFlushMs: 200,
  };
}

export interface DemoGatewayConfigInput {
  plan: FleetPlan;
  profile: DemoProfile;
  paths: DemoPaths;
  apiPort: number;
  tokens: { operator: string; viewer: string };
  modbusPorts: readonly number[];
  sepPort: number;
  vtnUrl: string;
  /** The CSMS port (reserved before the gateway starts, so the stations can dial it early). */
  ocppPort: number;
  ocppPassword: string;
  cadence: DemoCadence;
  /** Scenario speed: OCPP stations divide their periods by it, so the CSMS asks for periods in simulated seconds. */
  speed: number;
}

/**
 * Sites whose storage the demo's battery dispatch plans (issue 9), the first ones: one fleet model
 * of 50 batteries x 96 intervals solves in well under a second; thousands would not.
 */
export const DEMO_DISPATCH_MAX_SITES = 50;
/** The dispatch program's primacy: below the 2030.5 and OpenADR programs, so utility controls win. */
export const DEMO_DISPATCH_PRIMACY = 200;

/**
 * Dispatch on simulated time: 15-minute plan intervals up to x900 (at least one real second each),
 * hourly above; a day's horizon; re-planned every 10 real seconds and on events; the shipped CAISO
 * sample days as prices by simulated hour.
 */
export function demoDispatchSection(plan: FleetPlan, speed: number): Record<string, unknown> {
  const intervalSeconds = speed <= 900 ? 900 : 3600;
  return {
    programId: 'demo-dispatch',
    programName: 'Battery dispatch (CAISO day-ahead sample)',
    primacy: DEMO_DISPATCH_PRIMACY,
    enrol: { siteIds: plan.sites.slice(0, DEMO_DISPATCH_MAX_SITES).map((site) => site.id) },
    cadenceSeconds: 10,
    intervalSeconds,
    horizonMinutes: 1440,
    prices: { kind: 'sample' },
  };
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The raw configuration object (before defaults), as a YAML file would hold it. */
export function demoConfigObject(input: DemoGatewayConfigInput): Record<string, unknown> {
  const { plan, paths, cadence } = input;
  const portOf = (index: number): number => {
    const port = input.modbusPorts[index];
    if (port === undefined)
      throw new Error(`no Modbus port ${index} (the simulator listens on ${input.modbusPorts.length})`);
    return port;
  };
  const sunspecDevices = plan.sites.flatMap((site) =>
    [site.pv, site.storage, site.meter].map((unit) => ({
      id: unit.deviceId,
      siteId: site.id,
      host: '127.0.0.1',
      port: portOf(unit.portIndex),
      unit: unit.unitId,
      pollIntervalMs: cadence.pollMs,
    })),
  );
  const stations = plan.sites.flatMap((site) =>
    site.charger === undefined
      ? []
      : [
          {
            identity: site.charger.identity,
            id: site.charger.deviceId,
            siteId: site.id,
            name: `EV charger of ${site.id}`,
            passwordSha256: sha256Hex(input.ocppPassword),
            maxCurrentA: CHARGER_MAX_CURRENT_A,
            phases: CHARGER_PHASES,
            evses: 1,
          },
        ],
  );
  const siteIds = plan.sites.map((site) => site.id);
  // OCPP stations divide these periods by the speed: ask for meter values every ocppMeterSeconds
  // real seconds and a heartbeat a real minute.
  const simulated = (realSeconds: number) => Math.min(86400, Math.max(1, Math.round(realSeconds * input.speed)));
  return {
    store: { kind: 'sqlite', path: paths.gatewayDb },
    bus: { kind: 'memory' },
    api: {
      host: '127.0.0.1',
      port: input.apiPort,
      tokens: [
        { name: OPERATOR_TOKEN_NAME, role: 'operator', tokenSha256: sha256Hex(input.tokens.operator) },
        { name: VIEWER_TOKEN_NAME, role: 'viewer', tokenSha256: sha256Hex(input.tokens.viewer) },
      ],
    },
    telemetry: { retentionDays: 7 },
    log: { level: 'warn' },
    fleet: {
      sites: plan.sites.map((site) => ({
        id: site.id,
        name: site.name,
        connection: { phases: 3, nominalVoltageV: CHARGER_VOLTAGE },
      })),
    },
    sunspec: { devices: sunspecDevices, concurrency: 128, timeoutMs: 2000 },
    ocpp: {
      host: '127.0.0.1',
      port: input.ocppPort,
      path: OCPP_PATH,
      securityProfile: 2,
      tls: { certificate: paths.serverCert, key: paths.serverKey },
      heartbeatIntervalSeconds: simulated(60),
      meterIntervalSeconds: simulated(cadence.ocppMeterSeconds),
      pollIntervalMs: cadence.ocppPollMs,
      defaults: { maxCurrentA: CHARGER_MAX_CURRENT_A, phases: CHARGER_PHASES, voltage: CHARGER_VOLTAGE },
      stations,
    },
    utility: {
      ieee2030_5: {
        dcapUrl: `https://127.0.0.1:${input.sepPort}/dcap`,
        certificate: paths.aggregatorCert,
        key: paths.aggregatorKey,
        ca: paths.caCert,
        mode: 'aggregator',
        profile: input.profile,
        endDevices: plan.sites.map((site) => ({ lfdi: site.lfdi, siteId: site.id })),
        minPollSeconds: 1,
        retrySeconds: 2,
        postRateSeconds: cadence.sepPostSeconds,
        reportIntervalSeconds: cadence.sepPostSeconds,
        timeoutMs: 15000,
        notifications: { host: '127.0.0.1', port: 0 },
      },
      openadr3: {
        vtnUrl: input.vtnUrl,
        version: '3.1.0',
        clientId: VEN_CLIENT_ID,
        clientSecretEnv: VEN_SECRET_ENV,
        venName: VEN_NAME,
        ca: paths.caCert,
        pollSeconds: cadence.oadrPollSeconds,
        programs: { [OADR_PROGRAM_NAME]: { primacy: OADR_PROGRAM_PRIMACY, siteIds } },
        reportIntervalSeconds: cadence.oadrReportSeconds,
        sampleSeconds: cadence.oadrReportSeconds,
      },
    },
    control: { periodSeconds: cadence.controlPeriodSeconds, marginSeconds: 30 },
    dispatch: demoDispatchSection(plan, input.speed),
    // A demo day lasts minutes of real time: 1-minute intervals give settlement enough to attribute
    // (a market settles 5 or 15 minutes; only whole intervals are settled).
    settlement: { intervalMinutes: 1 },
  };
}

/** The validated configuration; a problem is GW_ERR_CONFIG naming the key, as for a file. */
export function demoGatewayConfig(input: DemoGatewayConfigInput): GatewayConfig {
  return parseConfigObject(demoConfigObject(input), 'gridseam demo (gateway configuration)');
}
