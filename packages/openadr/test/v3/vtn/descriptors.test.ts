/**
 * 3.1.0 requires `objectType` on payload descriptors; the User Guide's examples leave it out. The VTN
 * fills a missing one in from the containing object (event, report, or a program's descriptor fields)
 * and stores the complete object; a wrong one is still refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDescriptorObjectTypes } from '../../../src/v3/vtn/server.ts';
import { BL, eventBody, programBody, startVtn } from './support.ts';

test('an event posted without descriptor objectType is stored with EVENT_PAYLOAD_DESCRIPTOR (3.1.0)', async (t) => {
  const h = await startVtn(t, '3.1.0');
  const bl = await h.token(BL);
  const program = await h.call<{ id: string }>('POST', '/programs', {
    token: bl,
    json: { ...programBody('3.1.0', 'p-descriptors'), payloadDescriptors: [{ payloadType: 'PRICE', currency: 'USD' }] },
  });
  assert.equal(program.status, 201, program.text);
  const stored = (program.body as { payloadDescriptors?: Array<{ objectType?: string }> }).payloadDescriptors;
  assert.equal(stored?.[0]?.objectType, 'EVENT_PAYLOAD_DESCRIPTOR', 'a program descriptor without report fields');

  const event = await h.call<{ payloadDescriptors?: Array<{ objectType?: string; payloadType: string }> }>(
    'POST',
    '/events',
    {
      token: bl,
      json: { ...eventBody('3.1.0', program.body.id), payloadDescriptors: [{ payloadType: 'SIMPLE' }] },
    },
  );
  assert.equal(event.status, 201, event.text);
  assert.deepEqual(event.body.payloadDescriptors, [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'SIMPLE' }]);

  const wrong = await h.call('POST', '/events', {
    token: bl,
    json: {
      ...eventBody('3.1.0', program.body.id, { name: 'wrong' }),
      payloadDescriptors: [{ objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'SIMPLE' }],
    },
  });
  assert.equal(wrong.status, 400, 'a descriptor that names the wrong objectType is still refused');
});

test('withDescriptorObjectTypes: by path, by report-only fields, and leaves other bodies alone', () => {
  assert.deepEqual(withDescriptorObjectTypes('/reports', { payloadDescriptors: [{ payloadType: 'USAGE' }] }), {
    payloadDescriptors: [{ objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'USAGE' }],
  });
  assert.deepEqual(
    withDescriptorObjectTypes('/programs/{programID}', {
      payloadDescriptors: [{ payloadType: 'USAGE', readingType: 'DIRECT_READ' }],
    }),
    {
      payloadDescriptors: [
        { objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'USAGE', readingType: 'DIRECT_READ' },
      ],
    },
  );
  const vens = { venName: 'v', payloadDescriptors: [{ payloadType: 'X' }] };
  assert.equal(withDescriptorObjectTypes('/vens', vens), vens, 'not a kind with payload descriptors');
  assert.equal(withDescriptorObjectTypes('/events', 'text'), 'text');
  const given = { payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'SIMPLE' }] };
  assert.deepEqual(withDescriptorObjectTypes('/events', given), given);
});
