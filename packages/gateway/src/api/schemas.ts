import {
  COMMAND_STATUSES,
  Command,
  DEVICE_CLASSES,
  Device,
  Enrolment,
  EpochMs,
  EVENT_STATUSES,
  Group,
  Id,
  MEASURAND_NAMES,
  Membership,
  Phase,
  Program,
  ProgramEvent,
  Reading,
  Site,
} from '@gridseam/model';
import Type, { type TSchema } from 'typebox';

/**
 * Route schemas. They are the model's TypeBox schemas, copied without `$id`: the same model
 * schema appears in many routes (body, response, array item), and a repeated `$id` would make
 * the serializer and the OpenAPI generator try to register one id twice. The copy keeps the
 * static type, so handlers stay typed through the TypeBox type provider.
 */
export function routeSchema<S extends TSchema>(schema: S): S {
  return JSON.parse(JSON.stringify(schema), (key, value) => (key === '$id' ? undefined : value)) as S;
}

/** The body of every error answer. */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'A stable GW_ERR_* code, see docs/reference/errors.md' }),
    message: Type.String(),
    retryable: Type.Boolean(),
    issues: Type.Optional(
      Type.Array(
        Type.Object(
          {
            path: Type.String({ description: 'JSON Pointer to the failing field' }),
            message: Type.String(),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export const errorResponses = {
  '4XX': ErrorBody,
  '5XX': ErrorBody,
} as const;

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });
export const GroupMemberParams = Type.Object({ id: Id, deviceId: Id }, { additionalProperties: false });

/** An instant as a query parameter: epoch ms, integer. */
function epochMs(description: string) {
  return Type.Integer({ minimum: 0, maximum: 253402300799999, description });
}

const Limit = Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many rows (default 100)' });
const Offset = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

export const PageQuery = Type.Object({ limit: Type.Optional(Limit), offset: Type.Optional(Offset) });

export const DeviceQuery = Type.Object({
  siteId: Type.Optional(Id),
  class: Type.Optional(Type.Enum(DEVICE_CLASSES)),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const GroupQuery = Type.Object({
  kind: Type.Optional(Type.Enum(['group', 'aggregation'])),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const EventQuery = Type.Object({
  programId: Type.Optional(Id),
  status: Type.Optional(Type.Enum(EVENT_STATUSES)),
  from: Type.Optional(epochMs('Events overlapping [from, to), epoch ms')),
  to: Type.Optional(EpochMs),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const EnrolmentQuery = Type.Object({
  programId: Type.Optional(Id),
  deviceId: Type.Optional(Id),
  siteId: Type.Optional(Id),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const MembersQuery = Type.Object({
  at: Type.Optional(epochMs('Only memberships in force at this instant')),
});

export const CommandQuery = Type.Object({
  status: Type.Optional(Type.Enum(COMMAND_STATUSES)),
  order: Type.Optional(
    Type.Enum(['asc', 'desc'], { description: "By creation time: 'asc' oldest first (default), 'desc' newest first" }),
  ),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const TelemetryQuery = Type.Object({
  measurand: Type.Enum(MEASURAND_NAMES),
  from: Type.Optional(epochMs('Inclusive, epoch ms; default to - 24 h')),
  to: Type.Optional(epochMs('Exclusive, epoch ms; default now')),
  phase: Type.Optional(Phase),
  bucket: Type.Optional(
    Type.String({
      maxLength: 32,
      description: 'Downsample into buckets of this width: ms as an integer, 500ms, 30s, 5m, 1h, 1d or ISO 8601 PT5M',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Raw readings only; default 10000' })),
});

export const AuditQuery = Type.Object({
  from: Type.Optional(EpochMs),
  to: Type.Optional(EpochMs),
  actor: Type.Optional(Type.String({ maxLength: 256 })),
  targetType: Type.Optional(Type.String({ maxLength: 64 })),
  targetId: Type.Optional(Type.String({ maxLength: 256 })),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Offset),
});

export const AuditEntrySchema = Type.Object(
  {
    seq: Type.Integer(),
    at: EpochMs,
    actor: Type.String(),
    action: Type.String(),
    targetType: Type.String(),
    targetId: Type.Optional(Type.String()),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const BucketSchema = Type.Object(
  { start: EpochMs, avg: Type.Number(), min: Type.Number(), max: Type.Number(), count: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

export const ReadingSchema = routeSchema(Reading);

export const RawTelemetry = Type.Object(
  {
    deviceId: Id,
    measurand: Type.String(),
    from: EpochMs,
    to: EpochMs,
    readings: Type.Array(ReadingSchema),
  },
  { additionalProperties: false },
);

export const DownsampledTelemetry = Type.Object(
  {
    deviceId: Id,
    measurand: Type.String(),
    from: EpochMs,
    to: EpochMs,
    bucketMs: Type.Integer({ minimum: 1 }),
    buckets: Type.Array(BucketSchema),
  },
  { additionalProperties: false },
);

export const Health = Type.Object(
  {
    status: Type.Enum(['ok', 'degraded']),
    store: Type.String(),
    bus: Type.String(),
    uptimeS: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** The entity schemas as route copies (see routeSchema). */
export const SiteSchema = routeSchema(Site);
export const DeviceSchema = routeSchema(Device);
export const GroupSchema = routeSchema(Group);
export const MembershipSchema = routeSchema(Membership);
export const ProgramSchema = routeSchema(Program);
export const EventSchema = routeSchema(ProgramEvent);
export const EnrolmentSchema = routeSchema(Enrolment);
export const CommandSchema = routeSchema(Command);
