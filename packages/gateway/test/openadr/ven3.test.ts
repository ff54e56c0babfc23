/**
 * End to end over real sockets on 127.0.0.1, both OpenADR 3 versions: the project's VTN
 * (createVtn, a BL client and the gateway's VEN client), a SunSpec simulator (PV, battery and the
 * site meter, held at noon) and startGateway with the sunspec devices and a `utility.openadr3`
 * section. BL creates an EXPORT_CAPACITY_LIMIT event that asks for reports: the event becomes a
 * canonical ProgramEvent of the enrolled site, the control engine writes the devices (read back
 * with the SunSpec scanner), reports with the site's readings reach the VTN and are in the audit
 * log; BL modifies the event (the canonical event follows) and deletes it (the gateway cancels
 * it). Every wait is a bounded poll.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Oadr3Version, openapiValidator, type Vtn } from '@gridseam/openadr';
import type { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { type GatewayConfig, parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { readPoints, waitFor } from '../seams/support.ts';
import { BL, oneSiteGatewayYaml, startOadr3Vtn, startSiteSimulator, VEN } from './support.ts';

const CONTROL_MODELS = [123, 124, 704];

async function blToken(url: string): Promise<string> {
  const response = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: BL.clientId,
      client_secret: BL.secret,
    }).toString(),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function bl(url: string, token: string, method: string, path: string, json?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as Record<string, unknown> };
}

function changed(before: Map<string, unknown>, now: Map<string, unknown>): string[] {
  return [...now.keys()].filter((key) => JSON.stringify(before.get(key)) !== JSON.stringify(now.get(key)));
}

const VERSIONS: readonly Oadr3Version[] = ['3.0.1', '3.1.0'];

for (const version of VERSIONS)
  describe(`OpenADR ${version} seam: VTN -> gateway -> SunSpec devices, reports back`, () => {
    const temp = useTempDir(`gridseam-oadr3-${version}-`);
    let vtn: Vtn;
    let url: string;
    let simulator: SunSpecSimulator;
    let modbusPort: number;
    let gateway: Gateway;
    let config: GatewayConfig;
    const start = () =>
      startGateway(config, {
        logger: createLogger({ level: 'silent' }),
        env: { OADR3_TEST_SECRET: VEN.secret },
        controlPeriodMs: 1000,
      });

    before(async () => {
      ({ vtn, url } = await startOadr3Vtn(version, 'gateway-seam-test-secret-of-32-bytes-or-more'));
      ({ simulator, port: modbusPort } = await startSiteSimulator());
      config = parseConfig(
        oneSiteGatewayYaml(
          modbusPort,
          `  openadr3:
    vtnUrl: ${url}
    version: '${version}'
    clientId: ${VEN.clientId}
    clientSecretEnv: OADR3_TEST_SECRET
    venName: ${VEN.venName}
    pollSeconds: 0.3
    programs:
      DOE: { primacy: 10, siteIds: [site-1] }
    reportIntervalSeconds: 1
    sampleSeconds: 0.2
`,
        ),
        join(temp.dir(), 'gateway.yaml'),
      );
      gateway = await start();
    });

    after(async () => {
      await gateway?.close();
      await simulator?.stop();
      await vtn?.close();
    });

    test('an export limit reaches the registers; reports reach the VTN; a deletion cancels', async () => {
      const seam = gateway.openadr3;
      assert.ok(seam, 'the seam runs');
      assert.ok(seam.ven.status().venId, 'the VEN registered');
      assert.deepEqual(
        vtn.objects('resource').map((r) => r.resourceName),
        ['site-1'],
        'the enrolled site is its resource',
      );
      const token = await blToken(url);
      const program = await bl(url, token, 'POST', '/programs', { programName: 'DOE' });
      assert.equal(program.status, 201);
      const programId = `oadr3.program.${String(program.body.id)}`;
      await waitFor(
        () => gateway.store.enrolments.list({ programId }).then((l) => (l.length > 0 ? l : undefined)),
        'the site enrolment',
      );
      assert.equal((await gateway.store.programs.get(programId))?.primacy, 10);

      await waitFor(async () => {
        for (const id of ['pv-1', 'bat-1', 'meter-1'])
          if (!(await gateway.store.telemetry.latest(id)).some((r) => r.measurand === 'activePower')) return undefined;
        return true;
      }, 'telemetry of the PV, the battery and the meter');
      const before = new Map([
        [1, await readPoints(modbusPort, 1, CONTROL_MODELS)],
        [2, await readPoints(modbusPort, 2, CONTROL_MODELS)],
      ]);

      const created = await bl(url, token, 'POST', '/events', {
        programID: program.body.id,
        eventName: 'export 200 W',
        intervalPeriod: { start: new Date(Date.now()).toISOString(), duration: 'PT10M' },
        payloadDescriptors: [
          {
            ...(version === '3.1.0' ? { objectType: 'EVENT_PAYLOAD_DESCRIPTOR' } : {}),
            payloadType: 'EXPORT_CAPACITY_LIMIT',
            units: 'KW',
          },
        ],
        intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [0.2] }] }],
        reportDescriptors: [
          { payloadType: 'READING', readingType: 'DIRECT_READ', units: 'KW', frequency: 0 },
          { payloadType: 'STORAGE_CHARGE_LEVEL', frequency: 0 },
        ],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const eventID = String(created.body.id);

      // The event becomes a canonical event of the enrolled site.
      const event = await waitFor(
        () => gateway.store.events.getByExternalId('openadr3', eventID),
        'the canonical event',
      );
      assert.equal(event.id, `oadr3.event.${eventID}`);
      assert.equal(event.programId, programId);
      assert.equal(event.primacy, 10);
      assert.deepEqual(event.targets, {}, 'no targets: the program enrolments');
      assert.deepEqual(event.intervals[0]?.signals, [{ kind: 'exportLimit', value: 200, unit: 'W' }]);

      // The engine writes the devices; the scanner sees it; the commands are confirmed by read-back.
      const points = await waitFor(async () => {
        const out: string[] = [];
        for (const unit of [1, 2])
          out.push(
            ...changed(before.get(unit) ?? new Map(), await readPoints(modbusPort, unit, CONTROL_MODELS)).map(
              (k) => `unit ${unit}: ${k}`,
            ),
          );
        return out.length > 0 ? out : undefined;
      }, 'a control register of the PV or the battery to change');
      assert.ok(points.length > 0);
      const confirmed = await waitFor(async () => {
        const all = [
          ...(await gateway.store.commands.list({ deviceId: 'pv-1' })),
          ...(await gateway.store.commands.list({ deviceId: 'bat-1' })),
        ].filter((c) => c.setpoint.source.ref === event.id && c.status === 'confirmed');
        return all.length > 0 ? all : undefined;
      }, 'a confirmed engine command for the event');
      assert.ok(confirmed.every((c) => c.setpoint.source.kind === 'program' && c.readBack?.matched === true));

      // Reports (ad hoc, every reportIntervalSeconds) with the site's readings reach the VTN.
      const reports = await waitFor(() => {
        const list = vtn.objects('report').filter((r) => r.eventID === eventID);
        return list.length > 0 ? list : undefined;
      }, 'a report at the VTN');
      const report = reports[0] as unknown as {
        clientName: string;
        resources: Array<{
          resourceName: string;
          intervals: Array<{ payloads: Array<{ type: string; values: unknown[] }> }>;
        }>;
      };
      assert.deepEqual(openapiValidator(version).schema('report', reports[0]), []);
      assert.equal(report.clientName, VEN.venName);
      assert.equal(report.resources[0]?.resourceName, 'site-1');
      const payloads = report.resources[0]?.intervals[0]?.payloads ?? [];
      const reading = payloads.find((p) => p.type === 'READING')?.values[0];
      const soc = payloads.find((p) => p.type === 'STORAGE_CHARGE_LEVEL')?.values[0];
      assert.equal(typeof reading, 'number', JSON.stringify(payloads));
      assert.ok(typeof soc === 'number' && soc >= 0 && soc <= 1, JSON.stringify(payloads));
      const audit = await waitFor(async () => {
        const rows = await gateway.store.audit.list({ targetType: 'event', targetId: event.id });
        return rows.some((r) => r.action === 'openadr3.report') ? rows : undefined;
      }, 'the report in the audit log');
      assert.ok(
        audit.some((r) => r.action === 'control.decision'),
        'the decision is in the event history',
      );

      // BL modifies it mid-flight: the canonical event follows, still live, same id.
      const modified = await bl(url, token, 'PUT', `/events/${eventID}`, {
        programID: program.body.id,
        eventName: 'export 350 W',
        intervalPeriod: { start: new Date(Date.now()).toISOString(), duration: 'PT10M' },
        payloadDescriptors: [
          {
            ...(version === '3.1.0' ? { objectType: 'EVENT_PAYLOAD_DESCRIPTOR' } : {}),
            payloadType: 'EXPORT_CAPACITY_LIMIT',
            units: 'KW',
          },
        ],
        intervals: [{ id: 0, payloads: [{ type: 'EXPORT_CAPACITY_LIMIT', values: [0.35] }] }],
      });
      assert.equal(modified.status, 200, JSON.stringify(modified.body));
      const updated = await waitFor(async () => {
        const now = await gateway.store.events.get(event.id);
        return now?.intervals[0]?.signals[0]?.value === 350 ? now : undefined;
      }, 'the modified limit in the canonical event');
      assert.ok(updated.status === 'scheduled' || updated.status === 'active', updated.status);

      // A gateway restart mid-event: the VEN sees the event again, the same canonical event goes on.
      await gateway.close();
      gateway = await start();
      assert.equal(gateway.openadr3?.ven.events().size, 1, 'the VEN found the event again');
      const again = await gateway.store.events.list({});
      assert.deepEqual(
        again.filter((e) => e.source === 'openadr3').map((e) => [e.id, e.intervals[0]?.signals[0]?.value]),
        [[event.id, 350]],
        'no second event',
      );
      assert.equal(vtn.objects('ven').length, 1, 'no second ven');

      // BL deletes the event: the gateway cancels it.
      assert.equal((await bl(url, token, 'DELETE', `/events/${eventID}`)).status, 200);
      const cancelled = await waitFor(async () => {
        const now = await gateway.store.events.get(event.id);
        return now?.status === 'cancelled' ? now : undefined;
      }, 'the event to be cancelled');
      assert.match(cancelled.statusHistory.at(-1)?.reason ?? '', /deleted/);
    });
  });
