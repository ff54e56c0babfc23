/**
 * The CACTUS server-test checks (README-server-schema.md "Checks") as assertions over what a SepClient
 * discovered: der-control, default-der-control, end-device, time-synced, poll-rate ... plus the client actions
 * that send documents (insert-end-device, upsert-mup, insert-readings, upsert-der-*, respond-der-controls).
 */
import assert from 'node:assert/strict';
import { hexBitmap, parseHexBitmap } from '../../src/codec/index.ts';
import type {
  DERControl,
  DERProgram,
  DefaultDERControl,
  EndDevice,
  MirrorUsagePoint,
  ReadingType,
} from '../../src/resources/types.ts';
import {
  allControls,
  allDefaultControls,
  type Discovery,
  type EndDeviceView,
  type SepClient,
  type SepReply,
} from '../helpers/sep-client.ts';
import { activePowerW } from './harness.ts';

// ---------------------------------------------------------------------------------------------------------------
// Status helpers

export function assertSuccess(reply: SepReply, what: string): void {
  assert.ok(reply.status >= 200 && reply.status < 300, `${what}: expected 2xx, got ${reply.status} ${reply.body}`);
}

/** CACTUS expect_rejection: an HTTP 4XX (ErrorResponse). */
export function assertRejected(reply: SepReply, what: string): void {
  assert.ok(reply.status >= 400 && reply.status < 500, `${what}: expected 4xx, got ${reply.status} ${reply.body}`);
}

/** The Location header of a 201, as a path. */
export function locationOf(reply: SepReply, what: string): string {
  assert.equal(reply.status, 201, `${what}: expected 201 Created, got ${reply.status} ${reply.body}`);
  const location = reply.headers.location;
  assert.ok(typeof location === 'string' && location.length > 0, `${what}: 201 without Location`);
  return new URL(location, 'https://sep.invalid').pathname;
}

// ---------------------------------------------------------------------------------------------------------------
// end-device, time-synced, discovered

/** CACTUS end-device matches_client: the EndDevice with this LFDI (case-insensitive), if discovered. */
export function ownEndDevice(discovery: Discovery, lfdi: string): EndDeviceView | undefined {
  return discovery.endDevices.find((e) => e.endDevice.lFDI?.toLowerCase() === lfdi.toLowerCase());
}

export function assertOwnEndDevice(discovery: Discovery, lfdi: string): EndDeviceView {
  const own = ownEndDevice(discovery, lfdi);
  assert.ok(own, `no EndDevice with lFDI ${lfdi} among ${discovery.endDevices.map((e) => e.endDevice.lFDI)}`);
  return own;
}

/** CACTUS time-synced: the server's Time matches the clock it was given. */
export function assertTimeSynced(discovery: Discovery, serverNow: number): void {
  assert.ok(discovery.time, 'Time was not discovered');
  assert.equal(discovery.time.currentTime, serverNow, 'Time.currentTime differs from the server clock');
}

/** Every href the walk followed answered 200 (CSIP: every href the server hands out answers GET). */
export function assertVisitedOk(discovery: Discovery): void {
  for (const [path, status] of discovery.visited) {
    assert.ok(status === 200, `GET ${path} answered ${status}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// der-control / default-der-control

export interface ControlCriteria {
  opModExpLimW?: number;
  opModImpLimW?: number;
  opModGenLimW?: number;
  opModLoadLimW?: number;
  opModEnergize?: boolean;
  opModConnect?: boolean;
  opModFixedW?: number;
  /** null: rampTms must be absent. */
  rampTms?: number | null;
  randomizeStart?: number;
  /** EventStatus.currentStatus. */
  eventStatus?: number;
  /** responseRequired as a number (the hex bitmap). */
  responseRequired?: number;
  /** interval.duration */
  duration?: number;
  /** primacy of the DERProgram it is listed under. */
  derpPrimacy?: number;
}

export function controlMatches(control: DERControl, c: ControlCriteria, program?: DERProgram): boolean {
  const base = control.DERControlBase;
  const checks: boolean[] = [];
  if (c.opModExpLimW !== undefined) checks.push(activePowerW(base.opModExpLimW) === c.opModExpLimW);
  if (c.opModImpLimW !== undefined) checks.push(activePowerW(base.opModImpLimW) === c.opModImpLimW);
  if (c.opModGenLimW !== undefined) checks.push(activePowerW(base.opModGenLimW) === c.opModGenLimW);
  if (c.opModLoadLimW !== undefined) checks.push(activePowerW(base.opModLoadLimW) === c.opModLoadLimW);
  if (c.opModEnergize !== undefined) checks.push(base.opModEnergize === c.opModEnergize);
  if (c.opModConnect !== undefined) checks.push(base.opModConnect === c.opModConnect);
  if (c.opModFixedW !== undefined) checks.push(base.opModFixedW === c.opModFixedW);
  if (c.rampTms !== undefined)
    checks.push(c.rampTms === null ? base.rampTms === undefined : base.rampTms === c.rampTms);
  if (c.randomizeStart !== undefined) checks.push(control.randomizeStart === c.randomizeStart);
  if (c.eventStatus !== undefined) checks.push(control.EventStatus.currentStatus === c.eventStatus);
  if (c.responseRequired !== undefined) {
    checks.push(parseHexBitmap(control.responseRequired ?? '00') === c.responseRequired);
  }
  if (c.duration !== undefined) checks.push(control.interval.duration === c.duration);
  if (c.derpPrimacy !== undefined) checks.push(program?.primacy === c.derpPrimacy);
  return checks.every(Boolean);
}

function describeControl(control: DERControl): string {
  const base = control.DERControlBase;
  const modes = Object.entries(base)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null && 'value' in v ? activePowerW(v as never) : v}`)
    .join(',');
  return `${control.mRID}[status ${control.EventStatus.currentStatus}, ${modes}]`;
}

export interface CountBounds {
  min?: number;
  max?: number;
}

/** CACTUS der-control: the number of discovered DERControls matching the criteria is within bounds. */
export function assertControls(
  controls: Array<{ control: DERControl; program?: DERProgram }>,
  criteria: ControlCriteria,
  bounds: CountBounds,
  what = 'der-control',
): Array<{ control: DERControl; program?: DERProgram }> {
  const matching = controls.filter((e) => controlMatches(e.control, criteria, e.program));
  const detail = `${what}: ${matching.length} of ${controls.length} controls match ${JSON.stringify(criteria)} (${controls
    .map((e) => describeControl(e.control))
    .join('; ')})`;
  if (bounds.min !== undefined) assert.ok(matching.length >= bounds.min, `${detail}; expected >= ${bounds.min}`);
  if (bounds.max !== undefined) assert.ok(matching.length <= bounds.max, `${detail}; expected <= ${bounds.max}`);
  return matching;
}

export function discoveredControls(discovery: Discovery): Array<{ control: DERControl; program: DERProgram }> {
  return allControls(discovery);
}

export interface DefaultCriteria {
  opModExpLimW?: number;
  opModImpLimW?: number;
  opModGenLimW?: number;
  opModLoadLimW?: number;
  setGradW?: number;
  derpPrimacy?: number;
}

export function defaultMatches(control: DefaultDERControl, c: DefaultCriteria, program?: DERProgram): boolean {
  const base = control.DERControlBase;
  const checks: boolean[] = [];
  if (c.opModExpLimW !== undefined) checks.push(activePowerW(base.opModExpLimW) === c.opModExpLimW);
  if (c.opModImpLimW !== undefined) checks.push(activePowerW(base.opModImpLimW) === c.opModImpLimW);
  if (c.opModGenLimW !== undefined) checks.push(activePowerW(base.opModGenLimW) === c.opModGenLimW);
  if (c.opModLoadLimW !== undefined) checks.push(activePowerW(base.opModLoadLimW) === c.opModLoadLimW);
  if (c.setGradW !== undefined) checks.push(control.setGradW === c.setGradW);
  if (c.derpPrimacy !== undefined) checks.push(program?.primacy === c.derpPrimacy);
  return checks.every(Boolean);
}

/** CACTUS default-der-control. */
export function assertDefaults(
  defaults: Array<{ control: DefaultDERControl; program?: DERProgram }>,
  criteria: DefaultCriteria,
  bounds: CountBounds,
): void {
  const matching = defaults.filter((e) => defaultMatches(e.control, criteria, e.program));
  const detail = `default-der-control: ${matching.length} of ${defaults.length} match ${JSON.stringify(criteria)} (${JSON.stringify(
    defaults.map((e) => e.control),
  )})`;
  if (bounds.min !== undefined) assert.ok(matching.length >= bounds.min, `${detail}; expected >= ${bounds.min}`);
  if (bounds.max !== undefined) assert.ok(matching.length <= bounds.max, `${detail}; expected <= ${bounds.max}`);
}

export function discoveredDefaults(discovery: Discovery): Array<{ control: DefaultDERControl; program: DERProgram }> {
  return allDefaultControls(discovery);
}

// ---------------------------------------------------------------------------------------------------------------
// Client actions

/** insert-end-device: POST an EndDevice to the EndDeviceList link of DeviceCapability. */
export async function insertEndDevice(client: SepClient, edevListHref: string, lfdi: string, sfdi: number) {
  return client.post(edevListHref, 'EndDevice', { lFDI: lfdi, sFDI: sfdi, changedTime: Math.floor(Date.now() / 1000) });
}

/** respond-der-controls for one control: POST a DERControlResponse to its replyTo. */
export async function respond(
  client: SepClient,
  control: DERControl,
  endDeviceLFDI: string,
  status: number,
  createdDateTime: number,
): Promise<SepReply> {
  assert.ok(control.replyTo, `DERControl ${control.mRID} has no replyTo`);
  return client.post(control.replyTo, 'DERControlResponse', {
    createdDateTime,
    endDeviceLFDI,
    status,
    subject: control.mRID,
  });
}

export type ReadingTypeName =
  | 'ActivePowerAverage'
  | 'ReactivePowerAverage'
  | 'FrequencyAverage'
  | 'VoltageSinglePhaseAverage';

/** 2030.5 ReadingType values for the CSIP-AUS telemetry CACTUS names (uom: 38 W, 63 var, 33 Hz, 29 V). */
export function readingType(name: ReadingTypeName, powerOfTenMultiplier = 0): ReadingType {
  const uom = { ActivePowerAverage: 38, ReactivePowerAverage: 63, FrequencyAverage: 33, VoltageSinglePhaseAverage: 29 }[
    name
  ];
  return {
    accumulationBehaviour: 12,
    commodity: 1,
    dataQualifier: 2,
    flowDirection: 1,
    intervalLength: 300,
    kind: name === 'ActivePowerAverage' || name === 'ReactivePowerAverage' ? 37 : 0,
    phase: 0,
    powerOfTenMultiplier,
    uom,
  };
}

export function readingTypeName(type: ReadingType | undefined): ReadingTypeName | undefined {
  switch (type?.uom) {
    case 38:
      return 'ActivePowerAverage';
    case 63:
      return 'ReactivePowerAverage';
    case 33:
      return 'FrequencyAverage';
    case 29:
      return 'VoltageSinglePhaseAverage';
    default:
      return undefined;
  }
}

/** roleFlags of a site (isMirror | isPremisesAggregationPoint) and a device (isMirror | isDER | isSubmeter). */
export const ROLE_FLAGS = { Site: hexBitmap(0x03, 2), Device: hexBitmap(0x49, 2) } as const;

export interface MupSpec {
  mRID: string;
  location: 'Site' | 'Device';
  deviceLFDI: string;
  readingTypes: ReadingTypeName[];
  mmrMRIDs: string[];
  powerOfTenMultiplier?: number;
}

export function mirrorUsagePoint(spec: MupSpec): MirrorUsagePoint {
  return {
    mRID: spec.mRID,
    description: `${spec.location} telemetry`,
    roleFlags: ROLE_FLAGS[spec.location],
    serviceCategoryKind: 0,
    status: 1,
    deviceLFDI: spec.deviceLFDI,
    MirrorMeterReading: spec.readingTypes.map((name, i) => ({
      // Unique per MUP: the MUP mRID's last 24 digits plus the index (mRIDs are global across the server).
      mRID: spec.mmrMRIDs[i] ?? `${spec.mRID.slice(-24)}${(i + 1).toString(16).padStart(8, '0')}`,
      description: name,
      ReadingType: readingType(name, spec.powerOfTenMultiplier ?? 0),
    })),
  };
}

/** CACTUS mirror-usage-point check on a MUP as the server returned it. */
export function assertMup(
  mup: MirrorUsagePoint,
  expected: { mRID?: string; location?: 'Site' | 'Device'; readingTypes?: ReadingTypeName[]; mmrMRIDs?: string[] },
): void {
  if (expected.mRID) assert.equal(mup.mRID.toLowerCase(), expected.mRID.toLowerCase(), 'MirrorUsagePoint mRID');
  if (expected.location) {
    assert.equal(parseHexBitmap(mup.roleFlags), parseHexBitmap(ROLE_FLAGS[expected.location]), 'roleFlags');
  }
  const mmrs = mup.MirrorMeterReading ?? [];
  if (expected.readingTypes) {
    assert.deepEqual(
      mmrs.map((m) => readingTypeName(m.ReadingType)).sort(),
      [...expected.readingTypes].sort(),
      'MirrorMeterReading reading types',
    );
  }
  if (expected.mmrMRIDs) {
    assert.deepEqual(
      mmrs.map((m) => m.mRID.toLowerCase()).sort(),
      expected.mmrMRIDs.map((m) => m.toLowerCase()).sort(),
      'MirrorMeterReading mRIDs',
    );
  }
}

/** The href of a link on a resource, asserting it is there. */
export function linkHref(resource: object | undefined, link: string): string {
  const value = (resource as Record<string, unknown> | undefined)?.[link] as { href?: unknown } | undefined;
  assert.ok(value && typeof value.href === 'string', `no ${link} on ${JSON.stringify(resource)}`);
  return value.href as string;
}

export function edevOf(discovery: Discovery, lfdi: string): EndDevice {
  return assertOwnEndDevice(discovery, lfdi).endDevice;
}
