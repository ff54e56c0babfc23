/**
 * openapiValidator: every schema and operation of both documents compiles; hand-written invalid
 * bodies are refused with the path of the fault; the 3.0.1 and 3.1.0 differences are told apart;
 * query and path parameters are coerced from strings and checked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { V301, V310 } from '../../../src/v3/types/index.ts';
import { OADR3_VERSIONS, type OpenapiValidator, openapiValidator, type Problem } from '../../../src/v3/validate.ts';

const v301 = openapiValidator('3.0.1');
const v310 = openapiValidator('3.1.0');

const STAMP = { createdDateTime: '2024-05-01T10:00:00Z', modificationDateTime: '2024-05-01T10:00:00Z' };

function paths(problems: Problem[]): string[] {
  return problems.map((problem) => problem.path);
}

function eventRequest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    programID: 'program-1',
    eventName: 'price',
    intervalPeriod: { start: '2024-05-01T00:00:00Z', duration: 'PT1H' },
    intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [0.17] }] }],
    ...extra,
  };
}

describe('compilation', () => {
  test('every components.schemas entry of both versions compiles and judges a value', () => {
    for (const [validator, names] of [
      [v301, V301.SCHEMA_NAMES],
      [v310, V310.SCHEMA_NAMES],
    ] as const) {
      for (const name of names) {
        const problems = validator.schema(name, { unlikely: Symbol.name });
        assert.ok(Array.isArray(problems), `${validator.version} ${name}`);
      }
    }
    assert.deepEqual([...OADR3_VERSIONS], ['3.0.1', '3.1.0']);
    assert.equal(openapiValidator('3.1.0'), v310, 'one validator per version');
  });

  test("every operation's request body, response statuses and parameters compile", () => {
    for (const validator of [v301, v310]) {
      for (const operation of validator.operations()) {
        assert.ok(Array.isArray(validator.request(operation.method, operation.path, {})));
        for (const status of operation.statuses)
          assert.ok(Array.isArray(validator.response(operation.method, operation.path, status, {})));
        assert.ok(Array.isArray(validator.queryProblems(operation.method, operation.path, {})));
      }
    }
  });

  test('operations() lists the document: paths as templates, operationIds, scopes per version', () => {
    assert.equal(v301.operations().length, 31);
    assert.equal(v310.operations().length, 45);
    const find = (validator: OpenapiValidator, method: string, path: string) => validator.operation(method, path);
    assert.deepEqual(find(v301, 'GET', '/programs')?.scopes, ['read_all']);
    assert.deepEqual(find(v310, 'get', '/programs')?.scopes, ['read_targets']);
    assert.deepEqual(find(v310, 'GET', '/reports/{reportID}')?.scopes, ['read_ven_objects']);
    assert.deepEqual(find(v310, 'POST', '/events')?.scopes, ['write_events']);
    assert.equal(find(v310, 'POST', '/events')?.operationId, 'createEvent');
    assert.equal(find(v310, 'POST', '/events')?.secured, true);
    const token = find(v310, 'POST', '/auth/token');
    assert.equal(token?.secured, false);
    assert.deepEqual(token?.scopes, []);
    assert.equal(token?.requestContentType, 'application/x-www-form-urlencoded');
    assert.equal(find(v301, 'GET', '/auth/server'), undefined);
    assert.equal(find(v310, 'GET', '/auth/server')?.operationId, 'getAuthServerInfo');
    // Resources moved from under a VEN (3.0.1) to the top level (3.1.0).
    assert.ok(find(v301, 'POST', '/vens/{venID}/resources'));
    assert.equal(find(v310, 'POST', '/vens/{venID}/resources'), undefined);
    assert.ok(find(v310, 'PUT', '/resources/{resourceID}'));
    assert.deepEqual(find(v310, 'DELETE', '/programs/{programID}')?.statuses, [
      '200',
      '400',
      '401',
      '403',
      '404',
      '500',
    ]);
    for (const operation of v310.operations()) assert.match(operation.method, /^(GET|POST|PUT|DELETE)$/);
  });
});

describe('invalid bodies are refused with the path', () => {
  test('wrong types, missing required properties, null where not nullable', () => {
    assert.deepEqual(v310.request('POST', '/programs', { programName: 5 }), [
      { path: '/programName', message: 'must be string' },
    ]);
    assert.deepEqual(v310.request('POST', '/events', {}), [{ path: '/programID', message: 'is required' }]);
    assert.deepEqual(paths(v310.request('POST', '/programs', { programName: null })), ['/programName']);
    assert.deepEqual(v310.request('POST', '/events', eventRequest({ eventName: null, priority: null })), []);
    assert.deepEqual(
      paths(v310.request('POST', '/events', eventRequest({ intervals: [{ id: '0', payloads: [{ type: 'PRICE' }] }] }))),
      ['/intervals/0/id', '/intervals/0/payloads/0/values'],
    );
    assert.deepEqual(v310.request('POST', '/programs', []), [{ path: '/', message: 'must be object' }]);
  });

  test('values outside enums, patterns and lengths', () => {
    const descriptor = { payloadType: 'USAGE', reportIntervals: 'WEEKLY' };
    assert.deepEqual(v310.request('POST', '/events', eventRequest({ reportDescriptors: [descriptor] })), [
      {
        path: '/reportDescriptors/0/reportIntervals',
        message: 'must be one of: INTERVALS, SUB_INTERVALS, OPEN_INTERVALS',
      },
    ]);
    const tooLong = 'x'.repeat(129);
    assert.deepEqual(v310.request('POST', '/programs', { programName: tooLong }), [
      { path: '/programName', message: 'must NOT have more than 128 characters' },
    ]);
    assert.deepEqual(v310.request('POST', '/programs', { programName: 'x'.repeat(128) }), []);
    assert.deepEqual(paths(v310.request('POST', '/events', eventRequest({ programID: 'a b/c' }))), ['/programID']);
    assert.deepEqual(paths(v310.request('POST', '/events', eventRequest({ duration: 'PT1X' }))), ['/duration']);
    const subscription = {
      clientName: 'ven-1',
      objectOperations: [{ objects: ['ALERT'], operations: ['GET'], callbackUrl: 'not a uri' }],
    };
    assert.deepEqual(paths(v310.request('POST', '/subscriptions', subscription)), [
      '/objectOperations/0/objects/0',
      '/objectOperations/0/operations/0',
      '/objectOperations/0/callbackUrl',
    ]);
  });

  test('date-times are RFC 3339 or the documented "now" sentinels', () => {
    const at = (start: string) => eventRequest({ intervalPeriod: { start, duration: 'P9999Y' } });
    assert.deepEqual(v310.request('POST', '/events', at('0001-01-01')), []);
    assert.deepEqual(v310.request('POST', '/events', at('0001-01-01T00:00:00')), []);
    assert.deepEqual(v310.request('POST', '/events', at('2024-05-01T10:00:00.000+02:00')), []);
    for (const bad of ['yesterday', '17:15:16', '2024-05-01', '2024-13-01T00:00:00Z'])
      assert.deepEqual(paths(v310.request('POST', '/events', at(bad))), ['/intervalPeriod/start'], bad);
  });

  test('huge numbers: int32 and float ranges, and JSON overflow to Infinity', () => {
    assert.deepEqual(v310.request('POST', '/events', eventRequest({ intervals: [{ id: 1e20, payloads: [] }] })), [
      { path: '/intervals/0/id', message: 'must match format "int32"' },
    ]);
    assert.deepEqual(
      v310.request('POST', '/events', eventRequest({ intervals: [{ id: 2147483647, payloads: [] }] })),
      [],
    );
    const curve = (x: number) =>
      eventRequest({ intervals: [{ id: 0, payloads: [{ type: 'CURVE', values: [{ x, y: 1 }] }] }] });
    assert.deepEqual(v310.request('POST', '/events', curve(1e3)), []);
    assert.deepEqual(paths(v310.request('POST', '/events', curve(1e39))), ['/intervals/0/payloads/0/values/0/x']);
    const overflow = JSON.parse('{"programID":"p","priority":1e400}') as unknown;
    assert.deepEqual(v310.request('POST', '/events', overflow), [
      { path: '/priority', message: 'must be a finite number' },
    ]);
    const price = JSON.parse('{"type":"PRICE","values":[-1e999]}') as unknown;
    assert.deepEqual(v310.schema('valuesMap', price), [{ path: '/values/0', message: 'must be a finite number' }]);
    assert.deepEqual(paths(v310.schema('problem', { status: 600 })), ['/status']);
    assert.deepEqual(v310.schema('problem', { status: 599, title: 'x' }), []);
  });

  test('the discriminator picks the branch by objectType', () => {
    const program = (descriptor: Record<string, unknown>) => ({ programName: 'p', payloadDescriptors: [descriptor] });
    assert.deepEqual(
      v310.request(
        'POST',
        '/programs',
        program({ objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'USAGE', readingType: 'DIRECT_READ' }),
      ),
      [],
    );
    assert.deepEqual(v310.request('POST', '/programs', program({ objectType: 'PROGRAM', payloadType: 'PRICE' })), [
      {
        path: '/payloadDescriptors/0/objectType',
        message: 'must be one of: EVENT_PAYLOAD_DESCRIPTOR, REPORT_PAYLOAD_DESCRIPTOR',
      },
    ]);
    assert.deepEqual(
      paths(v310.request('POST', '/programs', program({ objectType: 'REPORT_PAYLOAD_DESCRIPTOR', confidence: 101 }))),
      ['/payloadDescriptors/0/payloadType', '/payloadDescriptors/0/confidence'],
    );
    const notification = {
      objectType: 'EVENT',
      operation: 'UPDATE',
      object: { id: 'e1', objectType: 'EVENT', ...STAMP },
    };
    assert.deepEqual(v310.schema('notification', notification), [
      { path: '/object/programID', message: 'is required' },
    ]);
    notification.object = { ...notification.object, programID: 'p1' } as typeof notification.object;
    assert.deepEqual(v310.schema('notification', notification), []);
  });

  test('ven and resource objects take objectType VEN / RESOURCE (the errata)', () => {
    const ven = { id: 'v1', objectType: 'VEN', clientID: 'client-1', venName: 'ven-1', ...STAMP };
    assert.deepEqual(v310.response('GET', '/vens/{venID}', 200, ven), []);
    assert.deepEqual(paths(v310.response('GET', '/vens/{venID}', 200, { ...ven, objectType: 'BL_VEN_REQUEST' })), [
      '/objectType',
    ]);
    const resource = { id: 'r1', objectType: 'RESOURCE', clientID: 'c', resourceName: 'meter', venID: 'v1', ...STAMP };
    assert.deepEqual(v310.response('GET', '/resources', 200, [resource]), []);
    assert.deepEqual(v310.request('POST', '/vens', { objectType: 'VEN_VEN_REQUEST', venName: 'ven-1' }), []);
    assert.deepEqual(v310.request('POST', '/vens', { objectType: 'BL_VEN_REQUEST', venName: 'v', clientID: 'c' }), []);
    assert.notDeepEqual(v310.request('POST', '/vens', { objectType: 'BL_VEN_REQUEST', venName: 'v' }), []);
  });

  test('operations, statuses and bodies the document does not declare', () => {
    assert.match(v310.request('PATCH', '/programs', {})[0]!.message, /no operation "PATCH" "\/programs"/);
    assert.deepEqual(v310.request('POST', '/programs', undefined), [
      { path: '/', message: 'a request body is required' },
    ]);
    assert.deepEqual(v310.request('GET', '/programs', undefined), []);
    assert.deepEqual(v310.request('GET', '/programs', { a: 1 }), [
      { path: '/', message: 'no request body is expected' },
    ]);
    assert.match(v310.response('GET', '/programs', 418, {})[0]!.message, /status "418" is not declared/);
    // 3.0.1 declares no 401 answers; 3.1.0 does, with a problem body.
    assert.equal(v301.response('GET', '/programs', 401, { title: 'x' }).length, 1);
    assert.deepEqual(v310.response('GET', '/programs', 401, { title: 'Unauthorized', status: 401 }), []);
    assert.deepEqual(paths(v310.response('GET', '/programs', 200, [{ programName: 'p' }])), [
      '/0/id',
      '/0/createdDateTime',
      '/0/modificationDateTime',
      '/0/objectType',
    ]);
    assert.match(v310.schema('nothing', {})[0]!.message, /has no schema "nothing"/);
    assert.equal(v310.isValid('valuesMap', { type: 'SIMPLE', values: [1] }), true);
    assert.equal(v310.isValid('valuesMap', { type: 'SIMPLE' }), false);
  });

  test('problems are capped at 20, the last one counting the rest', () => {
    const intervals = Array.from({ length: 50 }, (_, id) => ({ id: String(id), payloads: [] }));
    const problems = v310.request('POST', '/events', eventRequest({ intervals }));
    assert.equal(problems.length, 20);
    assert.deepEqual(problems[19], { path: '/', message: 'and 31 more problems' });
  });
});

describe('3.0.1 and 3.1.0 differences', () => {
  test('targets: valuesMaps in 3.0.1, plain strings in 3.1.0', () => {
    const legacy = eventRequest({ targets: [{ type: 'GROUP', values: ['g1'] }] });
    const plain = eventRequest({ targets: ['g1'] });
    assert.deepEqual(v301.request('POST', '/events', legacy), []);
    assert.deepEqual(v310.request('POST', '/events', legacy), [{ path: '/targets/0', message: 'must be string' }]);
    assert.deepEqual(v310.request('POST', '/events', plain), []);
    assert.deepEqual(v301.request('POST', '/events', plain), [{ path: '/targets/0', message: 'must be object' }]);
  });

  test('notification operations: HTTP verbs in 3.0.1, CRUD in 3.1.0 (Definition Figure 6 is 3.0.1-shaped)', () => {
    const figure6 = {
      objectType: 'PROGRAM',
      operation: 'POST',
      object: {
        bindingEvents: false,
        createdDateTime: '2023-06-15T15:51:29.000Z',
        id: '0',
        localPrice: false,
        objectType: 'PROGRAM',
        programName: 'myProgram',
      },
    };
    assert.deepEqual(v301.schema('notification', figure6), []);
    assert.deepEqual(paths(v310.schema('notification', figure6)), ['/operation', '/object/modificationDateTime']);
    assert.deepEqual(paths(v301.schema('notification', { ...figure6, operation: 'CREATE' })), ['/operation']);
  });

  test('payload descriptors: objectType optional in 3.0.1, required in 3.1.0', () => {
    const body = eventRequest({ payloadDescriptors: [{ payloadType: 'PRICE', currency: 'USD' }] });
    assert.deepEqual(v301.request('POST', '/events', body), []);
    assert.deepEqual(v310.request('POST', '/events', body), [
      { path: '/payloadDescriptors/0/objectType', message: 'is required' },
    ]);
  });

  test('request bodies: 3.0.1 posts whole objects, 3.1.0 request schemas (vens need objectType)', () => {
    assert.deepEqual(v301.request('POST', '/vens', { venName: 'ven-1' }), []);
    // venRequest is oneOf(VenVenRequest, BlVenRequest): both want objectType, the BL one a clientID too.
    assert.deepEqual(paths(v310.request('POST', '/vens', { venName: 'ven-1' })), ['/objectType', '/clientID']);
    const report = { eventID: 'e1', clientName: 'ven-1', resources: [] };
    assert.deepEqual(v310.request('POST', '/reports', report), []);
    assert.deepEqual(v301.request('POST', '/reports', report), [{ path: '/programID', message: 'is required' }]);
  });
});

describe('parameters', () => {
  test('3.1.0 query values are coerced from strings and checked', () => {
    const parsed = v310.parseQuery('GET', '/events', {
      programID: 'p1',
      targets: ['g1', 'g2'],
      skip: '0',
      limit: '50',
      active: 'true',
    });
    assert.deepEqual(parsed, {
      values: { programID: 'p1', targets: ['g1', 'g2'], skip: 0, limit: 50, active: true },
      problems: [],
    });
    assert.deepEqual(v310.parseQuery('GET', '/programs', { targets: 'g1' }).values, { targets: ['g1'] });
    assert.deepEqual(v310.queryProblems('GET', '/events', { limit: '51', skip: '-1', active: 'yes' }), [
      { path: '/skip', message: 'must be >= 0' },
      { path: '/limit', message: 'must be <= 50' },
      { path: '/active', message: 'must be true or false' },
    ]);
    assert.deepEqual(v310.queryProblems('GET', '/events', { skip: 'ten', limit: ['1', '2'] }), [
      { path: '/skip', message: 'must be an integer' },
      { path: '/limit', message: 'must be given once' },
    ]);
    assert.deepEqual(v310.queryProblems('GET', '/events', { skip: '99999999999999999' }), [
      { path: '/skip', message: 'must be an integer' },
    ]);
    assert.deepEqual(paths(v310.queryProblems('GET', '/subscriptions', { objects: ['EVENT', 'ALERT'] })), [
      '/objects/1',
    ]);
  });

  test('targetType/targetValues are 3.0.1 query parameters, targets the 3.1.0 one', () => {
    const legacy = { targetType: 'GROUP', targetValues: 'g1' };
    assert.deepEqual(v301.parseQuery('GET', '/events', legacy), {
      values: { targetType: 'GROUP', targetValues: ['g1'] },
      problems: [],
    });
    assert.deepEqual(v310.queryProblems('GET', '/events', legacy), [
      { path: '/targetType', message: 'is not a query parameter of GET /events' },
      { path: '/targetValues', message: 'is not a query parameter of GET /events' },
    ]);
    assert.deepEqual(v301.queryProblems('GET', '/events', { targets: 'g1' }), [
      { path: '/targets', message: 'is not a query parameter of GET /events' },
    ]);
    assert.deepEqual(v301.queryProblems('GET', '/events', { active: 'true' }), [
      { path: '/active', message: 'is not a query parameter of GET /events' },
    ]);
  });

  test('path parameters are object IDs', () => {
    assert.deepEqual(v310.pathProblems('GET', '/programs/{programID}', { programID: 'abc_1-2' }), []);
    assert.deepEqual(paths(v310.pathProblems('GET', '/programs/{programID}', { programID: 'a b' })), ['/programID']);
    assert.deepEqual(paths(v310.pathProblems('GET', '/programs/{programID}', { programID: 'a'.repeat(129) })), [
      '/programID',
    ]);
    assert.deepEqual(v310.pathProblems('GET', '/programs/{programID}', {}), [
      { path: '/programID', message: 'is required' },
    ]);
    assert.deepEqual(
      v301.pathProblems('GET', '/vens/{venID}/resources/{resourceID}', { venID: 'v', resourceID: 'r' }),
      [],
    );
  });
});
