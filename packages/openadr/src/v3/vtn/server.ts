/**
 * `createVtn`: the OpenADR 3 VTN on fastify, one version (3.0.1 or 3.1.0) under one base path.
 *
 * Every request goes: bearer token (401 with WWW-Authenticate) and scopes (403) before the body is read; then
 * content type (415 unless application/json; the token endpoint takes application/x-www-form-urlencoded), body
 * size (413), JSON and hostile-input checks (400), path and query parameters and the body against the version's
 * OpenAPI document (400 with the problems); then the object rules (./objects.ts: 404, 409, 403). Every error
 * answers a `problem` body {type, title, status, detail, instance} plus a stable Gridseam `code`. Reads are
 * served from memory; writes are persisted through the VtnStore before they are answered; committed changes
 * go to the webhook notifier.
 */
import { randomUUID } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { openapiValidator } from '../validate.ts';
import { targetKeys } from './access.ts';
import { insufficientScope, TokenError, VtnAuth } from './auth.ts';
import type {
  JsonObject,
  JsonValue,
  Oadr3Version,
  Vtn,
  VtnInjectRequest,
  VtnInjectResponse,
  VtnObjectKind,
  VtnOptions,
  VtnPrincipal,
} from './contract.ts';
import { parseJsonBody } from './json.ts';
import { MemoryVtnStore } from './memory-store.ts';
import { Notifier } from './notifications.ts';
import { type ObjectChange, ObjectService } from './objects.ts';
import { BY_ID_TARGET_OPERATIONS, operationsFor, queryParamsFor, type VtnOperation } from './operations.ts';
import { type ListQuery, parseListQuery, parseTargetsExtension } from './query.ts';
import { VtnState } from './state.ts';
import { resolveWebhookOptions, WebhookSender } from './webhooks.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_MAX_OBJECTS_PER_KIND = 1_000_000;
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The default base path of a version: /openadr3/{version}. */
export function defaultBasePath(version: Oadr3Version): string {
  return `/openadr3/${version}`;
}

function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed))
    throw new TypeError(`basePath ${JSON.stringify(path)} must be '' or /segment/... of URL-safe characters`);
  return trimmed;
}

interface Problem {
  status: number;
  detail: string;
  code: string;
  headers: Record<string, string>;
}

function mediaType(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  if (header === undefined) return undefined;
  return header.split(';')[0]?.trim().toLowerCase();
}

function fastifyStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** Cached list answers per kind, at most this many; granted target sets, one per VEN client, at most this many. */
const MAX_CACHED_ANSWERS = 4096;
const MAX_CACHED_GRANTS = 100_000;
const CACHED_KINDS: ReadonlySet<VtnObjectKind> = new Set(['program', 'event']);

/**
 * The serialised answers of `GET /programs` and `GET /events`, shared by every caller who sees the same
 * objects. A VEN's view (./access.ts target hiding) is a function of the kind's objects, the query string and
 * the caller's granted target keys; of those only the keys some object of the kind carries can matter, so the
 * answer is keyed by (role, granted keys used by the kind, query string): every VEN of one group shares one
 * answer. Answers and the kind's used keys are dropped on any committed write of the kind; granted sets are kept
 * per (clientID, venName) and dropped on any write of a ven or resource (they are made from those). A query with
 * `active` depends on the clock and is never cached, nor one with percent-escapes (which could spell it); other
 * kinds (ownership, the 3.0.1 ven resources) are not cached.
 */
class ListAnswerCache {
  readonly #answers = new Map<VtnObjectKind, Map<string, string>>();
  readonly #usedKeys = new Map<VtnObjectKind, ReadonlySet<string>>();
  readonly #granted = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly version: Oadr3Version,
    private readonly state: VtnState,
  ) {}

  /** The cache key of a list request, or undefined when its answer is not cached. */
  key(
    kind: VtnObjectKind,
    principal: VtnPrincipal,
    search: string,
    grantedTargets: () => ReadonlySet<string>,
  ): string | undefined {
    if (!CACHED_KINDS.has(kind) || search.includes('active') || search.includes('%')) return undefined;
    if (principal.role === 'bl') return `bl\n${search}`;
    const who = `${principal.clientId}\u0000${principal.venName ?? ''}`;
    let granted = this.#granted.get(who);
    if (granted === undefined) {
      granted = grantedTargets();
      if (this.#granted.size >= MAX_CACHED_GRANTS) this.#granted.clear();
      this.#granted.set(who, granted);
    }
    const used = this.#used(kind);
    const visible = [...granted].filter((key) => used.has(key)).sort();
    return `ven\n${JSON.stringify(visible)}\n${search}`;
  }

  /** Every target key carried by some object of the kind. */
  #used(kind: VtnObjectKind): ReadonlySet<string> {
    let used = this.#usedKeys.get(kind);
    if (used === undefined) {
      const keys = new Set<string>();
      for (const entry of this.state.all(kind))
        for (const key of targetKeys(this.version, entry.doc.object)) keys.add(key);
      used = keys;
      this.#usedKeys.set(kind, used);
    }
    return used;
  }

  get(kind: VtnObjectKind, key: string): string | undefined {
    return this.#answers.get(kind)?.get(key);
  }

  set(kind: VtnObjectKind, key: string, body: string): void {
    let answers = this.#answers.get(kind);
    if (answers === undefined) {
      answers = new Map();
      this.#answers.set(kind, answers);
    }
    if (answers.size >= MAX_CACHED_ANSWERS) answers.clear();
    answers.set(key, body);
  }

  /** Called with every committed change (before the write is answered). */
  changed(changes: readonly ObjectChange[]): void {
    for (const { entry } of changes) {
      this.#answers.delete(entry.kind);
      this.#usedKeys.delete(entry.kind);
      if (entry.kind === 'ven' || entry.kind === 'resource') this.#granted.clear();
    }
  }
}

/** Creates the VTN (its objects loaded from the store); call `listen` to serve it on a socket. */
export async function createVtn(options: VtnOptions): Promise<Vtn> {
  const version = options.version;
  if (version !== '3.0.1' && version !== '3.1.0') throw new TypeError(`unknown OpenADR 3 version ${String(version)}`);
  const basePath = normaliseBasePath(options.basePath ?? defaultBasePath(version));
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const validator = openapiValidator(version);
  const auth = new VtnAuth(options.auth, version, now);
  const state = new VtnState(options.store ?? new MemoryVtnStore(), log);
  await state.load();
  const sender = new WebhookSender(resolveWebhookOptions(options.webhooks), log);
  let notifier: Notifier | undefined;
  const listCache = new ListAnswerCache(version, state);
  const objects = new ObjectService(state, {
    version,
    now,
    maxObjectsPerKind: options.maxObjectsPerKind ?? DEFAULT_MAX_OBJECTS_PER_KIND,
    verifyCallback: (url) => sender.verify(url),
    onCommitted: (changes) => {
      listCache.changed(changes);
      notifier?.changed(changes);
    },
  });
  notifier = new Notifier(version, state, objects, auth, sender);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const principals = new WeakMap<FastifyRequest, VtnPrincipal>();

  const app = Fastify({
    logger: false,
    bodyLimit,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 256 },
    ...(options.tls === undefined ? {} : { https: { key: options.tls.key, cert: options.tls.cert } }),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    done(null, new URLSearchParams(String(body)));
  });

  function problemOf(error: unknown): Problem {
    if (error instanceof TokenError)
      return {
        status: error.status,
        detail: error.description,
        code: error.status === 401 ? 'GW_ERR_UNAUTHORIZED' : 'GW_ERR_VALIDATION',
        headers: error.status === 401 ? { 'www-authenticate': 'Basic realm="openadr3"' } : {},
      };
    if (GridseamError.is(error)) {
      const headers: Record<string, string> = {};
      const challenge = error.details?.wwwAuthenticate;
      if (typeof challenge === 'string') headers['www-authenticate'] = challenge;
      let status = error.statusCode;
      if (error.code === 'GW_ERR_STORE_UNAVAILABLE') {
        log('error', 'the VTN store could not be written', { error: String(error.cause ?? error) });
        headers['retry-after'] = '30';
      }
      if (error.code === 'GW_ERR_NOT_SUPPORTED') status = 501;
      if (error.code === 'GW_ERR_INTERNAL') {
        log('error', 'unexpected error in the VTN', { error: error.stack ?? error.message });
        return { status: 500, detail: 'internal error', code: 'GW_ERR_INTERNAL', headers };
      }
      return { status, detail: error.message, code: error.code, headers };
    }
    const status = fastifyStatus(error);
    if (status !== undefined) {
      const code =
        status === 413
          ? 'GW_ERR_BODY_TOO_LARGE'
          : status === 415
            ? 'GW_ERR_UNSUPPORTED_MEDIA_TYPE'
            : status === 404
              ? 'GW_ERR_ROUTE_NOT_FOUND'
              : 'GW_ERR_MALFORMED';
      const message = error instanceof Error ? error.message : 'bad request';
      return { status, detail: message, code, headers: {} };
    }
    log('error', 'unexpected error in the VTN', {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return { status: 500, detail: 'internal error', code: 'GW_ERR_INTERNAL', headers: {} };
  }

  function sendProblem(reply: FastifyReply, problem: Problem, extra: JsonObject = {}): FastifyReply {
    const body: JsonObject = {
      type: 'about:blank',
      title: TITLES[problem.status] ?? 'Error',
      status: problem.status,
      detail: problem.detail,
      instance: `urn:uuid:${randomUUID()}`,
      code: problem.code,
      ...extra,
    };
    for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
    return reply.code(problem.status).type(`${JSON_TYPE}; charset=utf-8`).send(JSON.stringify(body));
  }

  function sendJson(reply: FastifyReply, status: number, body: JsonValue): FastifyReply {
    return reply.code(status).type(`${JSON_TYPE}; charset=utf-8`).send(JSON.stringify(body));
  }

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof TokenError) {
      const problem = problemOf(error);
      reply.header('cache-control', 'no-store');
      // RFC 6749 §5.2 error members beside the problem members (3.0.1 documents authError, 3.1.0 problem).
      return sendProblem(reply, problem, { error: error.error, error_description: error.description });
    }
    return sendProblem(reply, problemOf(error));
  });

  // 404 for unknown paths, 405 (with Allow) for a known path and another method.
  const templates = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const operation of operationsFor(version)) {
    let template = templates.get(operation.path);
    if (template === undefined) {
      const pattern = new RegExp(`^${operation.path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
      template = { pattern, methods: new Set() };
      templates.set(operation.path, template);
    }
    template.methods.add(operation.method);
    if (operation.method === 'GET') template.methods.add('HEAD');
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith(`${basePath}/`)) {
      const rest = path.slice(basePath.length);
      for (const template of templates.values())
        if (template.pattern.test(rest)) {
          reply.header('allow', [...template.methods].join(', '));
          return sendProblem(reply, {
            status: 405,
            detail: `${request.method} is not allowed here`,
            code: 'GW_ERR_ROUTE_NOT_FOUND',
            headers: {},
          });
        }
    }
    return sendProblem(reply, { status: 404, detail: 'no such endpoint', code: 'GW_ERR_ROUTE_NOT_FOUND', headers: {} });
  });

  function principalOf(request: FastifyRequest): VtnPrincipal {
    const principal = principals.get(request);
    if (principal === undefined) throw new GridseamError('GW_ERR_INTERNAL', 'no principal on an authenticated route');
    return principal;
  }

  function requireJsonBody(request: FastifyRequest, operation: VtnOperation): unknown {
    const type = mediaType(request);
    if (type !== undefined && type !== JSON_TYPE)
      throw new GridseamError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', `the body must be ${JSON_TYPE}, not ${type}`);
    if (type === undefined && hasBody(request))
      throw new GridseamError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', `the body must be ${JSON_TYPE}`);
    const body = version === '3.1.0' ? withDescriptorObjectTypes(operation.path, request.body) : request.body;
    const problems = validator.request(operation.method, operation.path, body);
    if (problems.length > 0) {
      const listed = problems.slice(0, 5).map((problem) => `${problem.path} ${problem.message}`);
      const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
      throw new GridseamError('GW_ERR_VALIDATION', `body: ${listed.join('; ')}${more}`, { issues: problems });
    }
    return body;
  }

  function checkPath(request: FastifyRequest, operation: VtnOperation): Record<string, string> {
    const params = (request.params ?? {}) as Record<string, string>;
    if (Object.keys(params).length === 0) return params;
    const problems = validator.pathProblems(operation.method, operation.path, params);
    if (problems.length > 0)
      throw new GridseamError(
        'GW_ERR_VALIDATION',
        `path: ${problems
          .slice(0, 3)
          .map((problem) => `${problem.path} ${problem.message}`)
          .join('; ')}`,
        { issues: problems },
      );
    return params;
  }

  function searchOf(request: FastifyRequest): string {
    const at = request.url.indexOf('?');
    return at < 0 ? '' : request.url.slice(at + 1);
  }

  function queryOf(request: FastifyRequest, operation: VtnOperation): ListQuery {
    const search = searchOf(request);
    if (version === '3.1.0' && BY_ID_TARGET_OPERATIONS.has(operation.operationId)) return parseTargetsExtension(search);
    return parseListQuery(
      validator,
      operation.method,
      operation.path,
      search,
      queryParamsFor(version, operation.operationId),
    );
  }

  function tokenUrl(request: FastifyRequest): string {
    const external = auth.externalTokenUrl;
    if (external !== undefined) return external;
    if (options.publicUrl !== undefined) return `${options.publicUrl.replace(/\/+$/, '')}/auth/token`;
    const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(request.host) ? request.host : 'localhost';
    return `${request.protocol}://${host}${basePath}/auth/token`;
  }

  async function handle(operation: VtnOperation, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const action = operation.action;
    switch (action.kind) {
      case 'authServer':
        return sendJson(reply, 200, { tokenURL: tokenUrl(request) });
      case 'authToken': {
        if (!auth.issuesTokens)
          throw new GridseamError('GW_ERR_NOT_SUPPORTED', 'this VTN does not issue tokens: see GET /auth/server');
        const type = mediaType(request);
        if (type !== undefined && type !== FORM_TYPE)
          throw new GridseamError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', `the token request must be ${FORM_TYPE}`);
        const form = request.body instanceof URLSearchParams ? request.body : undefined;
        const header = (name: string): string | undefined => {
          const value = request.headers[name];
          return typeof value === 'string' ? value : undefined;
        };
        const token = auth.token({
          form,
          authorization: header('authorization'),
          clientIdHeader: header('clientid'),
          clientSecretHeader: header('clientsecret'),
        });
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return sendJson(reply, 200, { ...token });
      }
      case 'notifiers':
        // Webhooks only: this VTN runs no MQTT broker (Definition §Notifications via Additional Protocols).
        return sendJson(reply, 200, { WEBHOOK: true });
      case 'mqttTopics':
        throw new GridseamError('GW_ERR_NOT_FOUND', 'this VTN has no MQTT notifier; use webhook subscriptions');
      default:
        break;
    }
    const principal = principalOf(request);
    const params = checkPath(request, operation);
    const kind: VtnObjectKind = action.object;
    const pathVenId = version === '3.0.1' && kind === 'resource' ? params.venID : undefined;
    const idParam = operation.path.match(/\{(\w+)\}$/)?.[1];
    const id = idParam === undefined ? '' : (params[idParam] ?? '');
    switch (action.kind) {
      case 'list': {
        const search = searchOf(request);
        const key = listCache.key(kind, principal, search, () => objects.access.grantedTargets(principal));
        let body = key === undefined ? undefined : listCache.get(kind, key);
        if (body === undefined) {
          body = JSON.stringify(objects.list(kind, principal, queryOf(request, operation), pathVenId));
          if (key !== undefined) listCache.set(kind, key, body);
        }
        return reply.code(200).type(`${JSON_TYPE}; charset=utf-8`).send(body);
      }
      case 'get':
        return sendJson(reply, 200, objects.get(kind, id, principal, queryOf(request, operation), pathVenId));
      case 'create': {
        const body = requireJsonBody(request, operation);
        const result = await objects.create(kind, principal, body, pathVenId);
        return sendJson(reply, result.status, result.body);
      }
      case 'update': {
        const body = requireJsonBody(request, operation);
        const result = await objects.update(kind, id, principal, body, pathVenId);
        return sendJson(reply, result.status, result.body);
      }
      case 'delete': {
        const result = await objects.delete(kind, id, principal, pathVenId);
        return sendJson(reply, result.status, result.body);
      }
    }
  }

  for (const operation of operationsFor(version)) {
    const url = `${basePath}${operation.path.replace(/\{(\w+)\}/g, ':$1')}`;
    const scopes = operation.scopes;
    app.route({
      method: operation.method,
      url,
      // Authentication before the body is read: an anonymous caller never gets a body parsed.
      onRequest: async (request) => {
        if (scopes === undefined) return;
        const principal = auth.authenticate(request.headers.authorization);
        const missing = scopes.filter((scope) => !principal.scopes.has(scope));
        if (missing.length > 0) throw insufficientScope(missing);
        principals.set(request, principal);
      },
      handler: (request, reply) => handle(operation, request, reply),
    });
  }

  await app.ready();

  let url: string | undefined;
  let closing: Promise<void> | undefined;
  const blPrincipal: VtnPrincipal = { clientId: '', role: 'bl', scopes: new Set() };
  return {
    version,
    basePath,
    get url() {
      return url;
    },
    async listen(listenOptions = {}) {
      const host = listenOptions.host ?? '127.0.0.1';
      await app.listen({ host, port: listenOptions.port ?? 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : (listenOptions.port ?? 0);
      const shownHost =
        host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
      url = `${options.tls === undefined ? 'http' : 'https'}://${shownHost}:${port}${basePath}`;
      return { port, url };
    },
    async inject(request: VtnInjectRequest): Promise<VtnInjectResponse> {
      const response = await app.inject({
        method: request.method,
        url: request.url,
        ...(request.headers === undefined ? {} : { headers: request.headers }),
        ...(request.body === undefined ? {} : { payload: request.body }),
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: response.body,
        json: <T>() => JSON.parse(response.body) as T,
      };
    },
    issueToken(clientId: string) {
      const token = auth.issue(clientId);
      return { accessToken: token.access_token, expiresIn: token.expires_in };
    },
    objects(kind: VtnObjectKind): JsonObject[] {
      const list: JsonObject[] = [];
      for (const entry of state.all(kind)) list.push(objects.view(entry, blPrincipal) ?? entry.doc.object);
      return list;
    },
    webhooks: {
      stats: () => sender.stats(),
      drain: () => sender.drain(),
    },
    close() {
      closing ??= (async () => {
        sender.close();
        await app.close();
      })();
      return closing;
    },
  };
}

const REPORT_DESCRIPTOR_KEYS = ['readingType', 'accuracy', 'confidence'];

/**
 * 3.1.0 made `objectType` required on payload descriptors (EVENT_PAYLOAD_DESCRIPTOR,
 * REPORT_PAYLOAD_DESCRIPTOR), while the 3.1.0 User Guide's own examples and many 3.0.1-era clients
 * leave it out. Where the containing object says which one it is (an event's descriptors are event
 * descriptors, a report's are report descriptors; a program's are told apart by the report-only
 * fields), a missing one is filled in before validation, so the stored object is complete. Anything
 * else about the body is still validated as sent.
 */
export function withDescriptorObjectTypes(pathTemplate: string, body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const descriptors = (body as { payloadDescriptors?: unknown }).payloadDescriptors;
  if (!Array.isArray(descriptors) || descriptors.length > 1000) return body;
  const kind = pathTemplate.startsWith('/events')
    ? 'EVENT_PAYLOAD_DESCRIPTOR'
    : pathTemplate.startsWith('/reports')
      ? 'REPORT_PAYLOAD_DESCRIPTOR'
      : pathTemplate.startsWith('/programs')
        ? undefined
        : null;
  if (kind === null) return body;
  const filled = descriptors.map((descriptor: unknown) => {
    if (typeof descriptor !== 'object' || descriptor === null || Array.isArray(descriptor)) return descriptor;
    if ('objectType' in descriptor) return descriptor;
    const guessed =
      kind ??
      (REPORT_DESCRIPTOR_KEYS.some((key) => key in descriptor)
        ? 'REPORT_PAYLOAD_DESCRIPTOR'
        : 'EVENT_PAYLOAD_DESCRIPTOR');
    return { objectType: guessed, ...descriptor };
  });
  return { ...body, payloadDescriptors: filled };
}
