/**
 * The messages of the live feed (GET /api/live, a WebSocket): JSON text, one message per frame.
 * Documented in docs/reference/api.md ("Live feed"); close codes in docs/reference/errors.md.
 */
import { type Command, check, Id, type OperatingState, type ProgramEvent } from '@gridseam/model';
import Type, { type Static } from 'typebox';
import type { FleetSummary } from '../fleet-summary.ts';
import type { Role } from '../types.ts';

/** Device ids one `subscribe` may name at most. */
export const MAX_SUBSCRIBED_DEVICES = 1000;

export const AuthMessage = Type.Object(
  { type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
export const SubscribeMessage = Type.Object(
  {
    type: Type.Literal('subscribe'),
    deviceIds: Type.Array(Id, { maxItems: MAX_SUBSCRIBED_DEVICES, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type AuthMessage = Static<typeof AuthMessage>;
export type SubscribeMessage = Static<typeof SubscribeMessage>;
export type ClientMessage = AuthMessage | SubscribeMessage;

/** One reading as the feed carries it: the total (no phase) value of a measurand. */
export interface LiveReading {
  deviceId: string;
  measurand: string;
  value: number | string;
  at: number;
}

export type ServerMessage =
  | { type: 'hello'; role: Role; name: string }
  | { type: 'subscribed'; deviceIds: string[] }
  | { type: 'telemetry'; at: number; readings: LiveReading[] }
  | {
      type: 'device.state';
      deviceId: string;
      state: 'online' | 'offline';
      online: boolean;
      at: number;
      operatingState?: OperatingState;
      detail?: string;
    }
  | { type: 'command'; command: Command }
  | { type: 'event'; event: ProgramEvent }
  | { type: 'summary'; summary: FleetSummary };

/**
 * WebSocket close codes of the feed: RFC 6455 section 7.4.1 (1001 going away, 1008 policy
 * violation, 1009 message too big, 1011 unexpected condition, 1013 try again later) and the
 * application range 4000-4999 (4401, 4403: the HTTP statuses they stand for).
 */
export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
  unauthorized: 4401,
  forbidden: 4403,
} as const;

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: 'GW_ERR_MALFORMED' | 'GW_ERR_VALIDATION'; reason: string };

const KNOWN_TYPES = new Set(['auth', 'subscribe']);

/** Parses one text frame from a client; never throws. */
export function parseClientMessage(text: string): ParsedClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'GW_ERR_MALFORMED', reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, code: 'GW_ERR_VALIDATION', reason: 'not a JSON object' };
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type))
    return { ok: false, code: 'GW_ERR_VALIDATION', reason: 'unknown message type' };
  const result = type === 'auth' ? check(AuthMessage, value) : check(SubscribeMessage, value);
  if (!result.ok) {
    const issue = result.issues[0];
    return { ok: false, code: 'GW_ERR_VALIDATION', reason: `${type}: ${issue?.path ?? ''} ${issue?.message ?? ''}` };
  }
  return { ok: true, message: result.value as ClientMessage };
}
