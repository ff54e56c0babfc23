/**
 * The two utilities of `gridseam demo`, both the project's own servers on 127.0.0.1 with TLS from the
 * demo PKI, each configured through its own config schema (the same parse a YAML file goes through):
 *
 * - the IEEE 2030.5 utility server (CSIP-AUS or CSIP): the aggregator certificate registered as an
 *   aggregator, one EndDevice per site managed by it, one DERProgram; the scenario's DERControl is
 *   created through UtilityAdmin when the scenario publishes it. Responses are read back from it.
 * - the OpenADR 3.1.0 VTN: a BL client (the utility's own tooling, in process with a token the VTN
 *   issues) and the gateway's VEN client; the program exists from the start, the peak event is
 *   created when the scenario publishes it. Reports are read back from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ControlBase, ResponseRecord } from '@gridseam/ieee2030-5';
import type { VtnJsonObject as JsonObject } from '@gridseam/openadr';
import type { Logger } from 'pino';
import { parseVtnConfig, type RunningOpenAdrVtn, startOpenAdrVtn } from '../openadr/vtn.ts';
import { parseUtilityConfig, type RunningUtilityServer, startUtilityServer } from '../utility/index.ts';
import type { DemoPaths } from './data.ts';
import { startFailure } from './errors.ts';
import type { DemoSite } from './fleet.ts';
import type { DemoProfile, ScenarioPlan } from './scenario.ts';

export const SEP_PROGRAM_ID = 'doe';
export const SEP_PROGRAM_PRIMACY = 10;
export const OADR_VERSION = '3.1.0';
export const OADR_PROGRAM_NAME = 'EVENING-PEAK';
export const OADR_PROGRAM_PRIMACY = 20;
export const VEN_CLIENT_ID = 'demo-gateway';
export const VEN_NAME = 'demo-gateway';
const BL_CLIENT_ID = 'demo-utility';
/** Environment variable names the VTN and the gateway read their secrets from (an env object we pass, never process.env). */
export const VTN_TOKEN_SECRET_ENV = 'GRIDSEAM_DEMO_VTN_TOKEN_SECRET';
export const VEN_SECRET_ENV = 'GRIDSEAM_DEMO_VEN_SECRET';

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface SepCadence {
  /** pollRate the server gives for every resource family, s. */
  pollSeconds: number;
  /** Mirror postRate, s. */
  postRateSeconds: number;
}

export interface DemoSepUtility {
  running: RunningUtilityServer;
  sepPort: number;
  /** EndDevice id at the server, by site id. */
  endDevices: ReadonlyMap<string, number>;
  /** Creates the scenario's DERControl for every EndDevice of the program; returns its mRID. */
  publishControl(plan: ScenarioPlan['utilityControl'], window: { startS: number; durationS: number }): Promise<string>;
  /** The Responses the clients posted for a control. */
  responses(mRID: string): ResponseRecord[];
  close(): Promise<void>;
}

export async function startSepUtility(options: {
  profile: DemoProfile;
  paths: DemoPaths;
  aggregatorLfdi: string;
  sites: readonly DemoSite[];
  cadence: SepCadence;
  logger: Logger;
}): Promise<DemoSepUtility> {
  const { paths, cadence } = options;
  const families = [
    'DeviceCapability',
    'Time',
    'EndDeviceList',
    'FunctionSetAssignmentsList',
    'DERProgramList',
    'DERList',
  ] as const;
  const config = parseUtilityConfig(
    JSON.stringify({
      profile: options.profile,
      listen: { host: '127.0.0.1', port: 0 },
      tls: { key: paths.serverKey, cert: paths.serverCert, ca: paths.caCert },
      variances: {
        pollRates: Object.fromEntries(families.map((family) => [family, cadence.pollSeconds])),
        postRate: cadence.postRateSeconds,
        aggregators: [options.aggregatorLfdi],
      },
      store: { kind: 'sqlite', path: paths.utilityDb },
      admin: { host: '127.0.0.1', port: 0 },
      // The gateway's Notification receiver listens on 127.0.0.1 (a lab set-up).
      notifications: { allowLoopback: true },
      log: { level: 'warn' },
    }),
    'gridseam demo (2030.5 utility server)',
  );
  let running: RunningUtilityServer;
  try {
    running = await startUtilityServer(config, { logger: options.logger.child({ component: 'demo-utility' }) });
  } catch (error) {
    throw startFailure('the IEEE 2030.5 utility server could not start', error);
  }
  try {
    const admin = running.server.admin;
    await admin.createProgram({
      id: SEP_PROGRAM_ID,
      description: options.profile === 'csip-aus' ? 'Dynamic operating envelope' : 'Generation limits',
      primacy: SEP_PROGRAM_PRIMACY,
    });
    const endDevices = new Map<string, number>();
    for (const site of options.sites) {
      const record = await admin.registerEndDevice({
        lfdi: site.lfdi,
        role: 'device',
        aggregatorLfdi: options.aggregatorLfdi,
        programIds: [SEP_PROGRAM_ID],
        postRate: cadence.postRateSeconds,
        registeredBy: 'admin',
      });
      endDevices.set(site.id, record.id);
    }
    return {
      running,
      sepPort: running.sepPort,
      endDevices,
      async publishControl(plan, window) {
        const base: ControlBase =
          plan.mode === 'opModExpLimW'
            ? { opModExpLimW: { multiplier: 0, value: plan.limitW } }
            : { opModMaxLimW: plan.pctHundredths };
        const { controls } = await admin.createControl({
          programId: SEP_PROGRAM_ID,
          start: window.startS,
          duration: window.durationS,
          description: plan.mode === 'opModExpLimW' ? `export limit ${plan.limitW} W` : 'generation limit',
          base,
        });
        const mRID = controls[0]?.mRID;
        if (mRID === undefined) throw new Error('the utility server created no DERControl');
        return mRID;
      },
      responses: (mRID) => admin.listResponses({ subject: mRID }),
      close: () => running.close(),
    };
  } catch (error) {
    await running.close();
    throw startFailure('the IEEE 2030.5 utility server could not be set up', error);
  }
}

export interface DemoVtn {
  running: RunningOpenAdrVtn;
  url: string;
  /** The VEN's client secret (handed to the gateway through its env option). */
  venSecret: string;
  programId: string;
  /** Creates the scenario's peak event; returns its id. */
  publishPeakEvent(plan: ScenarioPlan['peakEvent'], window: { startMs: number; durationS: number }): Promise<string>;
  /** The reports VENs created for an event, as stored at the VTN. */
  reports(eventId: string): JsonObject[];
  close(): Promise<void>;
}

export async function startDemoVtn(options: { paths: DemoPaths; logger: Logger }): Promise<DemoVtn> {
  const { paths } = options;
  const venSecret = randomBytes(24).toString('base64url');
  const blSecret = randomBytes(24).toString('base64url');
  const config = parseVtnConfig(
    JSON.stringify({
      version: OADR_VERSION,
      listen: { host: '127.0.0.1', port: 0 },
      tls: { key: paths.serverKey, cert: paths.serverCert },
      auth: {
        tokenSecretEnv: VTN_TOKEN_SECRET_ENV,
        clients: [
          { clientId: BL_CLIENT_ID, secretSha256: sha256Hex(blSecret), role: 'bl' },
          { clientId: VEN_CLIENT_ID, secretSha256: sha256Hex(venSecret), role: 'ven', venName: VEN_NAME },
        ],
      },
      store: { kind: 'sqlite', path: paths.vtnDb },
      log: { level: 'warn' },
    }),
    'gridseam demo (OpenADR 3 VTN)',
  );
  let running: RunningOpenAdrVtn;
  try {
    running = await startOpenAdrVtn(config, {
      logger: options.logger.child({ component: 'demo-vtn' }),
      env: { [VTN_TOKEN_SECRET_ENV]: randomBytes(32).toString('base64url') },
    });
  } catch (error) {
    throw startFailure('the OpenADR 3 VTN could not start', error);
  }
  const vtn = running.vtn;
  const bl = async (method: 'POST' | 'GET', path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const { accessToken } = vtn.issueToken(BL_CLIENT_ID);
    const answer = await vtn.inject({
      method,
      url: `${vtn.basePath}${path}`,
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (answer.status >= 300)
      throw new Error(`the VTN answered ${method} ${path} with ${answer.status}: ${answer.body.slice(0, 300)}`);
    return answer.json<Record<string, unknown>>();
  };
  try {
    const program = await bl('POST', '/programs', {
      programName: OADR_PROGRAM_NAME,
      programLongName: 'Evening peak: limit site import',
    });
    const programId = String(program.id);
    return {
      running,
      url: running.url,
      venSecret,
      programId,
      async publishPeakEvent(plan, window) {
        const event = await bl('POST', '/events', {
          programID: programId,
          eventName: `evening peak: import <= ${plan.importLimitKw} kW`,
          intervalPeriod: { start: new Date(window.startMs).toISOString(), duration: `PT${window.durationS}S` },
          payloadDescriptors: [
            { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' },
          ],
          intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [plan.importLimitKw] }] }],
          reportDescriptors: [
            { payloadType: 'READING', readingType: 'DIRECT_READ', units: 'KW', frequency: 0 },
            { payloadType: 'STORAGE_CHARGE_LEVEL', frequency: 0 },
          ],
        });
        return String(event.id);
      },
      reports: (eventId) => vtn.objects('report').filter((report) => report.eventID === eventId),
      close: () => running.close(),
    };
  } catch (error) {
    await running.close();
    throw startFailure('the OpenADR 3 VTN could not be set up', error);
  }
}
