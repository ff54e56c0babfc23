/**
 * The OpenADR 2.0b seam's optIn decisions, over real sockets against the 2.0b test VTN: a program whose devices
 * are offline ('never-when-offline') opts out and its event is 'opted-out' in the canonical model; an event of a
 * market context not configured, and one that names only unmapped targets, are opted out and not applied; a
 * test event is answered optIn and not applied; an event of a second program with a resource target mapped to a
 * site is applied to that site.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Oadr2b } from '@gridseam/openadr';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { waitFor } from '../seams/support.ts';

interface TestVtn {
  url: string;
  ven(): { venId: string; eventResponses: Array<{ eventID: string; optType: string }> };
  problems(): string[];
  putEvent(venId: string, event: Oadr2b.OadrEvent): void;
  close(): Promise<void>;
}
interface TestVtnModule {
  startTestVtn(options: { validate?: (xml: string) => readonly string[] }): Promise<TestVtn>;
  testEvent(input: {
    eventId: string;
    start: number;
    durationS: number;
    values: number[];
    marketContext: string;
    resourceIds?: string[];
  }): Oadr2b.OadrEvent;
}
interface XsdModule {
  xsdValidator(): Promise<((xml: string) => readonly string[]) | undefined>;
}

const SUPPORT = resolve(import.meta.dirname, '../../../openadr/test/v2b/support');
const OFFLINE = 'http://vtn.example/programs/offline';
const MAPPED = 'http://vtn.example/programs/mapped';

describe('OpenADR 2.0b seam: optIn policy, unknown programs, targets, test events', () => {
  let vtn: TestVtn;
  let support: TestVtnModule;
  let gateway: Gateway;

  before(async () => {
    support = (await import(pathToFileURL(join(SUPPORT, 'test-vtn.ts')).href)) as TestVtnModule;
    const xsd = (await import(pathToFileURL(join(SUPPORT, 'xsd.ts')).href)) as XsdModule;
    const validate = await xsd.xsdValidator();
    vtn = await support.startTestVtn(validate ? { validate } : {});
    const config = parseConfig(
      `
store: { kind: sqlite, path: ':memory:' }
bus: { kind: memory }
api: { port: 0 }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: One }, { id: site-2, name: Two }]
utility:
  openadr2b:
    vtnUrl: ${vtn.url}
    venName: gateway-policy
    pollSeconds: 0.2
    programs:
      - { marketContext: '${OFFLINE}', primacy: 10, siteIds: [site-1], optIn: never-when-offline }
      - { marketContext: '${MAPPED}', primacy: 12 }
    targets:
      - { resourceId: meter-2, siteIds: [site-2] }
`,
      join('/tmp', 'gateway-policy.yaml'),
    );
    gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    await gateway?.close();
    await vtn?.close();
  });

  test('each event gets the answer and the canonical state its program and targets call for', async () => {
    const venId = vtn.ven().venId;
    const start = Date.now() + 600_000;
    vtn.putEvent(
      venId,
      support.testEvent({ eventId: 'offline', start, durationS: 600, values: [1], marketContext: OFFLINE }),
    );
    vtn.putEvent(
      venId,
      support.testEvent({ eventId: 'unknown', start, durationS: 600, values: [1], marketContext: 'http://elsewhere' }),
    );
    const trial = support.testEvent({ eventId: 'trial', start, durationS: 600, values: [1], marketContext: MAPPED });
    trial.eventDescriptor.testEvent = 'true';
    vtn.putEvent(venId, trial);
    vtn.putEvent(
      venId,
      support.testEvent({
        eventId: 'stranger',
        start,
        durationS: 600,
        values: [1],
        marketContext: MAPPED,
        resourceIds: ['meter-9'],
      }),
    );
    vtn.putEvent(
      venId,
      support.testEvent({
        eventId: 'mapped',
        start,
        durationS: 600,
        values: [2],
        marketContext: MAPPED,
        resourceIds: ['meter-2'],
      }),
    );
    const answers = await waitFor(() => {
      const list = vtn.ven().eventResponses;
      return new Set(list.map((r) => r.eventID)).size === 5 ? list : undefined;
    }, 'answers to the five events');
    const byEvent = Object.fromEntries(answers.map((r) => [r.eventID, r.optType]));
    assert.deepEqual(byEvent, {
      offline: 'optOut',
      unknown: 'optOut',
      trial: 'optIn',
      stranger: 'optOut',
      mapped: 'optIn',
    });

    const offline = await waitFor(() => gateway.store.events.getByExternalId('openadr2b', 'offline'), 'offline event');
    assert.equal(offline.status, 'opted-out');
    const mapped = await waitFor(() => gateway.store.events.getByExternalId('openadr2b', 'mapped'), 'mapped event');
    assert.equal(mapped.status, 'scheduled');
    assert.deepEqual(mapped.targets, { siteIds: ['site-2'] });
    assert.equal(mapped.primacy, 12);
    await gateway.openadr2b?.idle();
    for (const id of ['unknown', 'trial', 'stranger'])
      assert.equal(await gateway.store.events.getByExternalId('openadr2b', id), undefined, `${id} is not applied`);
    assert.deepEqual(vtn.problems(), []);
  });
});
