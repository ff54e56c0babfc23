/**
 * The utility server's admin REST API (fastify): register EndDevices, create programs, default
 * controls and controls, cancel a control, and read what clients reported (Responses, DER status,
 * mirrored readings, LogEvents). A thin layer over UtilityAdmin: bodies are validated here (400
 * GW_ERR_VALIDATION with JSON Pointer issues, as the gateway's API answers), the server applies its
 * own rules (GW_ERR_CONFLICT, GW_ERR_NOT_FOUND ...). Bodies use the contract's shapes, which follow
 * the 2030.5 element names: power values as { multiplier, value }, percentages in hundredths.
 *
 * Auth: bearer tokens checked by SHA-256 digest in constant time (api/auth.ts); viewer reads,
 * operator (or admin) writes; only GET /admin/health is public. Successful writes are appended to
 * the store's audit log when a store is given.
 */
import type { ControlBase, EndDeviceRecord, PollRateFamily, UtilityAdmin } from '@gridseam/ieee2030-5';
import { POLL_RATE_FAMILIES } from '@gridseam/ieee2030-5';
import { check, GridseamError, validationError } from '@gridseam/model';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import Type, { type Static, type TSchema } from 'typebox';
import { bearerToken, type Principal, TokenVerifier } from '../api/auth.ts';
import { errorAnswer, validatorCompiler } from '../api/errors.ts';
import { roleAllows } from '../api/rbac.ts';
import type { ApiToken, Role } from '../api/types.ts';
import type { Store } from '../store/types.ts';

export interface AdminApiOptions {
  admin: UtilityAdmin;
  tokens: readonly ApiToken[];
  logger: Logger;
  /** When given, every successful write is appended to its audit log. */
  store?: Store;
  bodyLimitBytes?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------------------

const Int = (minimum: number, maximum: number, description?: string) =>
  Type.Integer({ minimum, maximum, ...(description === undefined ? {} : { description }) });
const UInt16 = Int(0, 65535);
const UInt32 = Int(0, 0xffffffff);
const Lfdi = Type.String({ pattern: '^[0-9a-fA-F]{40}$', description: 'LFDI, 40 hex characters' });
const Hex32 = Type.String({ pattern: '^[0-9a-fA-F]{32}$' });
const Slug = Type.String({ pattern: '^[a-z0-9_-]{1,64}$' });
const HexBitmap = Type.String({ pattern: '^[0-9a-fA-F]{1,8}$' });
const Description = Type.String({ maxLength: 32 });

const Scaled = Type.Object(
  { multiplier: Int(-9, 9), value: Int(-32768, 32767) },
  { additionalProperties: false, description: 'value x 10^multiplier (2030.5 ActivePower / ReactivePower)' },
);
const CurveRef = Type.Object({ curveId: Slug }, { additionalProperties: false });
const FixedPf = Type.Object(
  { displacement: UInt16, excitation: Type.Boolean(), multiplier: Int(-9, 9) },
  { additionalProperties: false },
);

const CURVE_MODE_NAMES = [
  'opModFreqWatt',
  'opModHFRTMayTrip',
  'opModHFRTMustTrip',
  'opModHVRTMayTrip',
  'opModHVRTMomentaryCessation',
  'opModHVRTMustTrip',
  'opModLFRTMayTrip',
  'opModLFRTMustTrip',
  'opModLVRTMayTrip',
  'opModLVRTMomentaryCessation',
  'opModLVRTMustTrip',
  'opModVoltVar',
  'opModVoltWatt',
  'opModWattPF',
  'opModWattVar',
] as const;

/** DERControlBase with the CSIP-AUS extensions, in the contract's shape (keys are the XML local names). */
export const ControlBaseSchema = Type.Object(
  {
    opModConnect: Type.Optional(Type.Boolean()),
    opModEnergize: Type.Optional(Type.Boolean()),
    opModFixedPFAbsorbW: Type.Optional(FixedPf),
    opModFixedPFInjectW: Type.Optional(FixedPf),
    opModFixedVar: Type.Optional(
      Type.Object({ refType: Int(0, 255), value: Int(-10000, 10000) }, { additionalProperties: false }),
    ),
    opModFixedW: Type.Optional(Int(-10000, 10000, 'hundredths of a percent of setMaxW')),
    opModFreqDroop: Type.Optional(
      Type.Object(
        { dBOF: UInt32, dBUF: UInt32, kOF: UInt16, kUF: UInt16, openLoopTms: UInt16 },
        { additionalProperties: false },
      ),
    ),
    ...Object.fromEntries(CURVE_MODE_NAMES.map((name) => [name, Type.Optional(CurveRef)])),
    opModMaxLimW: Type.Optional(Int(0, 10000, 'hundredths of a percent of setMaxW')),
    opModTargetVar: Type.Optional(Scaled),
    opModTargetW: Type.Optional(Scaled),
    rampTms: Type.Optional(Int(0, 65535, 'hundredths of a second')),
    opModImpLimW: Type.Optional(Scaled),
    opModExpLimW: Type.Optional(Scaled),
    opModGenLimW: Type.Optional(Scaled),
    opModLoadLimW: Type.Optional(Scaled),
    opModStorageTargetW: Type.Optional(Scaled),
  },
  { additionalProperties: false },
);

const RegisterEndDeviceBody = Type.Object(
  {
    lfdi: Type.Optional(Lfdi),
    sfdi: Type.Optional(Int(0, 687194767359)),
    pin: Type.Optional(Int(0, 999999)),
    role: Type.Optional(Type.Enum(['device', 'aggregator'])),
    aggregatorLfdi: Type.Optional(Lfdi),
    deviceCategory: Type.Optional(HexBitmap),
    postRate: Type.Optional(Int(1, 86400)),
    programIds: Type.Optional(Type.Array(Slug, { uniqueItems: true, maxItems: 100 })),
    derCount: Type.Optional(Int(0, 100)),
    connectionPointId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,32}$' })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const CreateProgramBody = Type.Object(
  {
    id: Type.Optional(Slug),
    mRID: Type.Optional(Hex32),
    description: Type.String({ minLength: 1, maxLength: 32 }),
    primacy: Int(0, 255),
    fsaId: Type.Optional(Slug),
    version: Type.Optional(UInt16),
  },
  { additionalProperties: false },
);

const DefaultControlBody = Type.Object(
  {
    endDeviceId: Type.Optional(Int(0, 0xffffffff)),
    mRID: Type.Optional(Hex32),
    description: Type.Optional(Description),
    base: ControlBaseSchema,
    setESDelay: Type.Optional(UInt32),
    setESHighFreq: Type.Optional(UInt16),
    setESHighVolt: Type.Optional(Int(-32768, 32767)),
    setESLowFreq: Type.Optional(UInt16),
    setESLowVolt: Type.Optional(Int(-32768, 32767)),
    setESRampTms: Type.Optional(UInt32),
    setESRandomDelay: Type.Optional(UInt32),
    setGradW: Type.Optional(UInt16),
    setSoftGradW: Type.Optional(UInt16),
  },
  { additionalProperties: false },
);

const TEN_YEARS_S = 10 * 365 * 86400;

const CreateControlBody = Type.Object(
  {
    endDeviceIds: Type.Optional(Type.Array(Int(0, 0xffffffff), { minItems: 1, maxItems: 10000, uniqueItems: true })),
    mRID: Type.Optional(Hex32),
    description: Type.Optional(Description),
    /** Epoch seconds; exclusive with startInS. */
    start: Type.Optional(Int(0, 4102444800, 'epoch seconds; default now')),
    /** Seconds from now (negative: already begun); exclusive with start. */
    startInS: Type.Optional(Int(-TEN_YEARS_S, TEN_YEARS_S, 'seconds from now, instead of start')),
    duration: Int(1, TEN_YEARS_S, 'seconds'),
    randomizeStart: Type.Optional(Int(-3600, 3600)),
    randomizeDuration: Type.Optional(Int(-3600, 3600)),
    responseRequired: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{2}$' })),
    base: ControlBaseSchema,
  },
  { additionalProperties: false },
);

const CancelBody = Type.Object({ randomized: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

const Limit = Int(1, 1000, 'at most this many (default 100)');
const Offset = Int(0, 1_000_000_000);
const Since = Int(0, 4102444800, 'epoch seconds');
const IdOrLfdi = Type.String({ pattern: '^([0-9]{1,10}|[0-9a-fA-F]{40})$', description: 'EndDevice id or LFDI' });

const EndDeviceParams = Type.Object({ id: IdOrLfdi }, { additionalProperties: false });
const ProgramParams = Type.Object({ id: Slug }, { additionalProperties: false });
const ControlParams = Type.Object({ mrid: Hex32 }, { additionalProperties: false });

const EndDeviceQuery = Type.Object(
  {
    lfdi: Type.Optional(Lfdi),
    aggregatorLfdi: Type.Optional(Lfdi),
    role: Type.Optional(Type.Enum(['device', 'aggregator'])),
    limit: Type.Optional(Limit),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);
const ControlQuery = Type.Object(
  {
    programId: Type.Optional(Slug),
    endDeviceId: Type.Optional(Int(0, 0xffffffff)),
    includeExpired: Type.Optional(Type.Enum(['true', 'false'])),
    limit: Type.Optional(Limit),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);
const ResponseQuery = Type.Object(
  {
    endDeviceId: Type.Optional(Int(0, 0xffffffff)),
    subject: Type.Optional(Hex32),
    status: Type.Optional(Int(0, 255)),
    since: Type.Optional(Since),
    limit: Type.Optional(Limit),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);
const ReadingQuery = Type.Object(
  {
    mupId: Type.Optional(Int(0, 0xffffffff)),
    endDeviceId: Type.Optional(Int(0, 0xffffffff)),
    mmrMRID: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{1,64}$' })),
    since: Type.Optional(Since),
    limit: Type.Optional(Limit),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);
const LogEventQuery = Type.Object(
  {
    endDeviceId: Type.Optional(Int(0, 0xffffffff)),
    since: Type.Optional(Since),
    limit: Type.Optional(Limit),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);
const MupQuery = Type.Object(
  { endDeviceId: Type.Optional(Int(0, 0xffffffff)), ownerLfdi: Type.Optional(Lfdi) },
  { additionalProperties: false },
);
const PollRateBody = Type.Object(
  { seconds: Type.Union([Int(1, 86400), Type.Null()]) },
  { additionalProperties: false },
);
const PollRateParams = Type.Object(
  { family: Type.Enum([...POLL_RATE_FAMILIES] as [PollRateFamily, ...PollRateFamily[]]) },
  { additionalProperties: false },
);

// ---------------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_LIMIT = 100;

/** Page arguments for the admin's own filters (so it need not build the whole list). */
function pageFilter(query: { limit?: number; offset?: number }): { limit: number; offset: number } {
  return { limit: query.limit ?? DEFAULT_LIMIT, offset: query.offset ?? 0 };
}

function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

function notFound(what: string): GridseamError {
  return new GridseamError('GW_ERR_NOT_FOUND', `${what} not found`);
}

const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization'];

/** Least role per route; a route missing here cannot be registered. */
const ACCESS: Readonly<Record<string, Role | 'public'>> = {
  'GET /admin/health': 'public',
  'GET /admin/end-devices': 'viewer',
  'POST /admin/end-devices': 'operator',
  'GET /admin/end-devices/:id': 'viewer',
  'GET /admin/end-devices/:id/der': 'viewer',
  'GET /admin/programs': 'viewer',
  'POST /admin/programs': 'operator',
  'GET /admin/programs/:id/default-control': 'viewer',
  'PUT /admin/programs/:id/default-control': 'operator',
  'POST /admin/programs/:id/controls': 'operator',
  'GET /admin/controls': 'viewer',
  'GET /admin/controls/:mrid': 'viewer',
  'POST /admin/controls/:mrid/cancel': 'operator',
  'GET /admin/responses': 'viewer',
  'GET /admin/mirror-usage-points': 'viewer',
  'GET /admin/mirror-readings': 'viewer',
  'GET /admin/log-events': 'viewer',
  'GET /admin/poll-rates': 'viewer',
  'PUT /admin/poll-rates/:family': 'operator',
};

function accessKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

const principals = new WeakMap<FastifyRequest, Principal>();

function actorOf(request: FastifyRequest): string {
  return principals.get(request)?.name ?? 'unknown';
}

/**
 * Builds the admin API. The caller listens (`app.listen`) and closes it; closing it closes neither
 * the utility server nor the store.
 */
export async function buildAdminApi(options: AdminApiOptions): Promise<FastifyInstance> {
  const { admin } = options;
  const verifier = new TokenVerifier(options.tokens);
  const app = Fastify({
    loggerInstance: options.logger.child(
      { component: 'utility-admin' },
      { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    ),
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods)
      if (!Object.hasOwn(ACCESS, accessKey(method, route.url)))
        throw new GridseamError('GW_ERR_CONFIG', `no access rule for ${accessKey(method, route.url)}`);
  });

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (url === undefined) return;
    const access = ACCESS[accessKey(request.method, url)];
    if (access === 'public') return;
    const token = bearerToken(request.headers.authorization);
    const principal = token === undefined ? undefined : verifier.verify(token);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="gridseam-utility"');
      throw new GridseamError('GW_ERR_UNAUTHORIZED', 'a valid bearer token is required');
    }
    if (access === undefined || !roleAllows(principal.role, access))
      throw new GridseamError(
        'GW_ERR_FORBIDDEN',
        `${request.method} ${url} needs the ${access ?? 'admin'} role; token ${principal.name} is ${principal.role}`,
      );
    principals.set(request, principal);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, internal } = errorAnswer(error);
    if (internal) request.log.error({ err: error }, 'admin request failed');
    else request.log.info({ code: body.code, message: body.message }, 'admin request refused');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]?.slice(0, 200) ?? '';
    return reply
      .code(404)
      .send({ code: 'GW_ERR_ROUTE_NOT_FOUND', message: `no route ${request.method} ${path}`, retryable: false });
  });

  const audit = async (
    request: FastifyRequest,
    action: string,
    targetType: string,
    targetId: string,
    detail?: Record<string, unknown>,
  ) => {
    if (options.store === undefined) return;
    try {
      await options.store.audit.append({
        at: Date.now(),
        actor: actorOf(request),
        action,
        targetType,
        targetId,
        ...(detail === undefined ? {} : { detail }),
      });
    } catch (error) {
      // The write itself is done and acknowledged by the utility server; a lost audit row is logged.
      request.log.error({ err: error, action, targetId }, 'audit append failed after an admin write');
    }
  };

  const endDeviceOf = (param: string): EndDeviceRecord => {
    const key = /^[0-9]{1,10}$/.test(param) ? Number(param) : param.toLowerCase();
    const found = admin.getEndDevice(key);
    if (found === undefined) throw notFound(`EndDevice ${param}`);
    return found;
  };
  const requireProgram = (id: string) => {
    if (!admin.listPrograms().some((program) => program.id === id)) throw notFound(`program ${id}`);
  };

  const route = <S extends Record<string, TSchema>>(schema: S) => ({ schema });

  app.get('/admin/health', async () => ({
    status: 'ok',
    endDevices: admin.listEndDevices().length,
    programs: admin.listPrograms().length,
  }));

  app.get('/admin/end-devices', route({ querystring: EndDeviceQuery }), async (request) => {
    const query = request.query as Static<typeof EndDeviceQuery>;
    return admin.listEndDevices(
      defined({
        lfdi: query.lfdi?.toLowerCase(),
        aggregatorLfdi: query.aggregatorLfdi?.toLowerCase(),
        role: query.role,
        ...pageFilter(query),
      }),
    );
  });

  app.post('/admin/end-devices', route({ body: RegisterEndDeviceBody }), async (request, reply) => {
    const body = request.body as Static<typeof RegisterEndDeviceBody>;
    if (body.lfdi === undefined && body.sfdi === undefined)
      throw new GridseamError('GW_ERR_VALIDATION', 'invalid request body: / must have an lfdi or an sfdi', {
        issues: [{ path: '/', message: 'must have an lfdi or an sfdi' }],
      });
    const record = await admin.registerEndDevice({
      ...body,
      ...(body.lfdi === undefined ? {} : { lfdi: body.lfdi.toLowerCase() }),
      ...(body.aggregatorLfdi === undefined ? {} : { aggregatorLfdi: body.aggregatorLfdi.toLowerCase() }),
      ...(body.deviceCategory === undefined ? {} : { deviceCategory: body.deviceCategory.toLowerCase() }),
      registeredBy: 'admin',
    });
    await audit(request, 'utility.end-device.register', 'utility.end-device', String(record.id), {
      lfdi: record.lfdi,
      sfdi: record.sfdi,
      role: record.role,
    });
    return reply.code(201).header('location', `/admin/end-devices/${record.id}`).send(record);
  });

  app.get('/admin/end-devices/:id', route({ params: EndDeviceParams }), async (request) =>
    endDeviceOf((request.params as Static<typeof EndDeviceParams>).id),
  );

  app.get('/admin/end-devices/:id/der', route({ params: EndDeviceParams }), async (request) => {
    const device = endDeviceOf((request.params as Static<typeof EndDeviceParams>).id);
    return admin.derReports(device.id);
  });

  app.get('/admin/programs', async () => admin.listPrograms());

  app.post('/admin/programs', route({ body: CreateProgramBody }), async (request, reply) => {
    const body = request.body as Static<typeof CreateProgramBody>;
    const program = await admin.createProgram({
      ...body,
      ...(body.mRID === undefined ? {} : { mRID: body.mRID.toLowerCase() }),
    });
    await audit(request, 'utility.program.create', 'utility.program', program.id, { primacy: program.primacy });
    return reply.code(201).header('location', `/admin/programs/${program.id}`).send(program);
  });

  app.get('/admin/programs/:id/default-control', route({ params: ProgramParams }), async (request) => {
    const { id } = request.params as Static<typeof ProgramParams>;
    requireProgram(id);
    return admin.listDefaultControls(id);
  });

  app.put(
    '/admin/programs/:id/default-control',
    route({ params: ProgramParams, body: DefaultControlBody }),
    async (request) => {
      const { id } = request.params as Static<typeof ProgramParams>;
      const body = request.body as Static<typeof DefaultControlBody>;
      requireProgram(id);
      const record = await admin.setDefaultControl({
        ...body,
        ...(body.mRID === undefined ? {} : { mRID: body.mRID.toLowerCase() }),
        base: body.base as ControlBase,
        programId: id,
      });
      await audit(request, 'utility.default-control.set', 'utility.program', id, {
        endDeviceId: record.endDeviceId,
        base: record.base,
      });
      return record;
    },
  );

  app.post(
    '/admin/programs/:id/controls',
    route({ params: ProgramParams, body: CreateControlBody }),
    async (request, reply) => {
      const { id } = request.params as Static<typeof ProgramParams>;
      const { startInS, ...body } = request.body as Static<typeof CreateControlBody>;
      if (startInS !== undefined && body.start !== undefined)
        throw new GridseamError('GW_ERR_VALIDATION', 'invalid request body: give start or startInS, not both', {
          issues: [{ path: '/startInS', message: 'must not be given together with start' }],
        });
      requireProgram(id);
      const start = startInS === undefined ? body.start : Math.floor(Date.now() / 1000) + startInS;
      const result = await admin.createControl({
        ...body,
        ...(start === undefined ? {} : { start }),
        ...(body.mRID === undefined ? {} : { mRID: body.mRID.toLowerCase() }),
        ...(body.responseRequired === undefined ? {} : { responseRequired: body.responseRequired.toLowerCase() }),
        base: body.base as ControlBase,
        programId: id,
      });
      await audit(request, 'utility.control.create', 'utility.program', id, {
        mRIDs: result.controls.map((control) => control.mRID),
        superseded: result.superseded.map((control) => control.mRID),
      });
      const first = result.controls[0];
      if (first !== undefined) reply.header('location', `/admin/controls/${first.mRID}`);
      return reply.code(201).send(result);
    },
  );

  app.get('/admin/controls', route({ querystring: ControlQuery }), async (request) => {
    const query = request.query as Static<typeof ControlQuery>;
    return admin.listControls(
      defined({
        programId: query.programId,
        endDeviceId: query.endDeviceId,
        includeExpired: query.includeExpired === undefined ? undefined : query.includeExpired === 'true',
        ...pageFilter(query),
      }),
    );
  });

  app.get('/admin/controls/:mrid', route({ params: ControlParams }), async (request) => {
    const { mrid } = request.params as Static<typeof ControlParams>;
    const control = admin.getControl(mrid.toLowerCase());
    if (control === undefined) throw notFound(`control ${mrid}`);
    return control;
  });

  app.post('/admin/controls/:mrid/cancel', route({ params: ControlParams }), async (request) => {
    const { mrid } = request.params as Static<typeof ControlParams>;
    // The body is optional: validated here rather than by the route schema.
    const checked = check(CancelBody, request.body ?? {});
    if (!checked.ok) throw validationError('request body', checked.issues);
    const body = checked.value;
    const mRID = mrid.toLowerCase();
    if (admin.getControl(mRID) === undefined) throw notFound(`control ${mrid}`);
    const record = await admin.cancelControl(mRID, defined({ randomized: body.randomized }));
    await audit(request, 'utility.control.cancel', 'utility.control', mRID, { randomized: body.randomized === true });
    return record;
  });

  app.get('/admin/responses', route({ querystring: ResponseQuery }), async (request) => {
    const query = request.query as Static<typeof ResponseQuery>;
    return admin.listResponses(
      defined({
        endDeviceId: query.endDeviceId,
        subject: query.subject?.toLowerCase(),
        status: query.status,
        since: query.since,
        ...pageFilter(query),
      }),
    );
  });

  app.get('/admin/mirror-usage-points', route({ querystring: MupQuery }), async (request) => {
    const query = request.query as Static<typeof MupQuery>;
    return admin.mirrorUsagePoints(
      defined({ endDeviceId: query.endDeviceId, ownerLfdi: query.ownerLfdi?.toLowerCase() }),
    );
  });

  app.get('/admin/mirror-readings', route({ querystring: ReadingQuery }), async (request) => {
    const query = request.query as Static<typeof ReadingQuery>;
    return admin.mirrorReadings(
      defined({
        mupId: query.mupId,
        endDeviceId: query.endDeviceId,
        mmrMRID: query.mmrMRID?.toLowerCase(),
        since: query.since,
        ...pageFilter(query),
      }),
    );
  });

  app.get('/admin/log-events', route({ querystring: LogEventQuery }), async (request) => {
    const query = request.query as Static<typeof LogEventQuery>;
    return admin.logEvents(defined({ endDeviceId: query.endDeviceId, since: query.since, ...pageFilter(query) }));
  });

  app.get('/admin/poll-rates', async () => admin.pollRates());

  app.put('/admin/poll-rates/:family', route({ params: PollRateParams, body: PollRateBody }), async (request) => {
    const { family } = request.params as Static<typeof PollRateParams>;
    const { seconds } = request.body as Static<typeof PollRateBody>;
    await admin.setPollRate(family, seconds);
    await audit(request, 'utility.poll-rate.set', 'utility.poll-rate', family, { seconds });
    return admin.pollRates();
  });

  return app as unknown as FastifyInstance;
}
