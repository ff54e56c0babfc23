/**
 * Fault tests of the chain utility (IEEE 2030.5) -> control engine -> SunSpec devices, over real
 * sockets on 127.0.0.1 (issue 5, "Fault tests"):
 * 1. the real `gridseam run` binary is killed with SIGKILL in the middle of an export-limit control
 *    and started again: the control is applied again, no Response is sent twice, and the control's
 *    end is answered with exactly one Completed (3);
 * 2. the utility becomes unreachable (a proxy in front of it resets every connection) while a control
 *    is active: the devices keep the limit to the control's end, then the program's DefaultDERControl
 *    applies; once the utility is back, Completed (3) is posted exactly once;
 * 3. one of two batteries under an aggregate target goes offline (its Modbus server closes): the
 *    engine gives its share to the other battery and reports the exclusion.
 * No timing assertions: every wait is bounded and polls for a condition.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { DEFAULT_CLIENT_STATE_NAMESPACE } from '../../src/config/utility.ts';
import type { ControlDecisionRecord, EventOutcome } from '../../src/control/engine.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningGateway, startRun } from '../cli/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import {
  apiGet,
  batteryWSet,
  FaultProxy,
  gatewayYaml,
  noonToday,
  persistedResponses,
  siteExportW,
  startTestUtility,
  waitFor,
  writePoint,
} from './support.ts';

/** Export tolerance at the meter: percent rounding of a 10 kW PV limit and the load's drift between reads. */
const EXPORT_TOLERANCE_W = 150;

describe('fault: gateway killed with SIGKILL mid-control and restarted', () => {
  const temp = useTempDir('gridseam-faults-kill-');
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  test('the control is applied again, no Response repeats, and its cancellation is answered once', async () => {
    const dir = temp.dir();
    const { utility } = await startTestUtility(dir);
    cleanups.push(() => utility.close());
    const simulator = new SunSpecSimulator({
      port: 0,
      profile: 'pv-inverter,battery,meter',
      count: 3,
      startTime: noonToday(),
    });
    const { port } = await simulator.start();
    cleanups.push(() => simulator.stop());

    const configFile = join(dir, 'gateway.yaml');
    await writeFile(
      configFile,
      gatewayYaml({
        sepPort: utility.sepPort,
        logLevel: 'info',
        devices: [
          { id: 'pv-1', port, unit: 1 },
          { id: 'bat-1', port, unit: 2 },
          { id: 'meter-1', port, unit: 3 },
        ],
      }),
    );
    let gateway: RunningGateway | undefined;
    const run = async (): Promise<RunningGateway> => {
      const started = await startRun(['--config', configFile], { cwd: dir });
      gateway = started;
      return started;
    };
    cleanups.push(async () => {
      if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.child.kill('SIGKILL');
        await gateway.exited;
      }
    });

    const first = await run();
    // The engine allocates a site limit from the meter and the DERs: wait until all three are measured.
    await waitFor(async () => {
      for (const id of ['pv-1', 'bat-1', 'meter-1']) {
        const latest = (await apiGet(first.address, `/api/devices/${id}/telemetry/latest`)) as Array<{
          measurand: string;
        }>;
        if (!latest.some((r) => r.measurand === 'activePower')) return undefined;
      }
      return true;
    }, 'telemetry of the PV, the battery and the meter');
    const exportBefore = await siteExportW(port, 3);
    assert.ok(exportBefore > 2000, `the site exports well above the limit before the control (${exportBefore} W)`);

    const limitW = 200;
    // Long enough that a slow restart under load still finds it running; the test ends it by cancelling.
    const durationS = 600;
    const { controls } = await utility.server.admin.createControl({
      programId: 'doe',
      start: Math.floor(Date.now() / 1000),
      duration: durationS,
      responseRequired: '03',
      description: 'export 200 W',
      base: { opModExpLimW: { multiplier: 0, value: limitW } },
    });
    const mRID = controls[0]?.mRID;
    assert.ok(mRID);
    const responses = () => utility.server.admin.listResponses({ subject: mRID }).map((r) => r.status);
    const sqlitePath = join(dir, 'gateway.sqlite');
    const persisted = (status: number) =>
      persistedResponses(sqlitePath).find((r) => r.mRID.toLowerCase() === mRID.toLowerCase() && r.status === status);

    await waitFor(() => (responses().includes(2) ? true : undefined), 'Responses 1 and 2 at the utility');
    // The engine may first allocate from readings taken before the devices were released; give it one
    // control period (60 s by default) plus margin to correct from fresh telemetry.
    const underLimit = () =>
      waitFor(
        async () => {
          const exportW = await siteExportW(port, 3);
          return exportW <= limitW + EXPORT_TOLERANCE_W ? exportW : undefined;
        },
        `the site export at the meter to fall to ${limitW} W`,
        100_000,
      );
    await underLimit();
    // The client records a Response as sent after the utility acknowledged it; kill only after that,
    // so the one documented duplicate window (POSTed, not yet recorded) is not what is tested here.
    await waitFor(
      () => (persisted(1)?.state === 'sent' && persisted(2)?.state === 'sent' ? true : undefined),
      'Responses 1 and 2 recorded as sent in the gateway store',
    );
    assert.deepEqual(responses(), [1, 2]);

    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');

    // The devices fall back while no gateway runs (as a reversion timeout would): PV to full output,
    // battery setpoint off. A restarted gateway that re-applies the control brings the limit back.
    await writePoint(port, 1, 704, 'WMaxLimPctEna', 0);
    await writePoint(port, 2, 704, 'WSetEna', 0);
    await waitFor(async () => {
      const exportW = await siteExportW(port, 3);
      return exportW > limitW + 1000 ? exportW : undefined;
    }, 'the site to export again with the devices released');

    const second = await run();
    assert.deepEqual(responses(), [1, 2], 'the restarted client sent no Response again');
    await underLimit();
    const event = (await apiGet(second.address, `/api/events/sep.${mRID}`)) as { status: string };
    assert.equal(event.status, 'active');

    // The utility cancels it: answered once with 6 (Cancelled), after the 1 and 2 sent before the kill.
    await utility.server.admin.cancelControl(mRID, { randomized: false });
    await waitFor(() => (responses().includes(6) ? true : undefined), 'Response 6 (cancelled)', 100_000);
    await waitFor(() => (persisted(6)?.state === 'sent' ? true : undefined), 'Response 6 recorded as sent');
    assert.deepEqual(responses(), [1, 2, 6], 'exactly one of each');
  });
});

/** The engine's decision for one (scope, type) key, e.g. 'site:site-1|exportLimit'. */
function decision(gateway: Gateway, key: string): ControlDecisionRecord | undefined {
  return gateway.control.decisions().find((d) => d.key === key);
}

/** Waits until every device has reported its active power to the store. */
async function measured(gateway: Gateway, ids: readonly string[]): Promise<void> {
  await waitFor(
    async () => {
      for (const id of ids)
        if (!(await gateway.store.telemetry.latest(id)).some((r) => r.measurand === 'activePower')) return undefined;
      return true;
    },
    `telemetry of ${ids.join(', ')}`,
  );
}

describe('fault: the utility becomes unreachable during a control', () => {
  const temp = useTempDir('gridseam-faults-unreachable-');
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  test('the control runs to its end, then the default applies; Completed is posted once the utility is back', async () => {
    const dir = temp.dir();
    const { utility } = await startTestUtility(dir);
    cleanups.push(() => utility.close());
    const admin = utility.server.admin;
    const defaultLimitW = 3000;
    await admin.setDefaultControl({
      programId: 'doe',
      description: 'default export limit',
      base: { opModExpLimW: { multiplier: 0, value: defaultLimitW } },
    });
    const proxy = new FaultProxy({ host: '127.0.0.1', port: utility.sepPort });
    const proxyPort = await proxy.start();
    cleanups.push(() => proxy.close());
    const simulator = new SunSpecSimulator({
      port: 0,
      profile: 'pv-inverter,battery,meter',
      count: 3,
      startTime: noonToday(),
    });
    const { port } = await simulator.start();
    cleanups.push(() => simulator.stop());

    const configFile = join(dir, 'gateway.yaml');
    const config = parseConfig(
      gatewayYaml({
        sepPort: proxyPort,
        devices: [
          { id: 'pv-1', port, unit: 1 },
          { id: 'bat-1', port, unit: 2 },
          { id: 'meter-1', port, unit: 3 },
        ],
      }),
      configFile,
    );
    const gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }), controlPeriodMs: 1000 });
    cleanups.push(() => gateway.close());
    const client = gateway.ieee2030_5?.client;
    assert.ok(client, 'the 2030.5 client runs');
    let failedPolls = 0;
    client.on('poll', (report) => {
      if (!report.ok) failedPolls++;
    });
    await measured(gateway, ['pv-1', 'bat-1', 'meter-1']);
    const siteKey = 'site:site-1|exportLimit';
    await waitFor(() => {
      const winner = decision(gateway, siteKey)?.winner;
      return winner?.isDefault === true && winner.value === defaultLimitW ? winner : undefined;
    }, 'the DefaultDERControl in force before the control');

    const limitW = 200;
    const start = Math.floor(Date.now() / 1000);
    const durationS = 20;
    const { controls } = await admin.createControl({
      programId: 'doe',
      start,
      duration: durationS,
      responseRequired: '03',
      base: { opModExpLimW: { multiplier: 0, value: limitW } },
    });
    const mRID = controls[0]?.mRID;
    assert.ok(mRID);
    const eventId = `sep.${mRID}`;
    const responses = () => admin.listResponses({ subject: mRID }).map((r) => r.status);
    await waitFor(() => (responses().includes(2) ? true : undefined), 'Responses 1 and 2 at the utility');
    await waitFor(async () => {
      const exportW = await siteExportW(port, 3);
      return exportW <= limitW + EXPORT_TOLERANCE_W ? exportW : undefined;
    }, `the site export to fall to ${limitW} W`);

    // The utility goes away: every connection is reset until it comes back.
    proxy.down();
    const failedBefore = failedPolls;
    await waitFor(() => (failedPolls >= failedBefore + 2 ? true : undefined), 'two failed polls of the utility');
    // While it is away and the control's window lasts, the control stays in force on the devices.
    // (Samples stop 2 s before the end so a sample never straddles the switch to the default.)
    let samples = 0;
    while (Date.now() < (start + durationS - 2) * 1000) {
      const winner = decision(gateway, siteKey)?.winner;
      assert.equal(winner?.ref, eventId, 'the control still wins while the utility is unreachable');
      const exportW = await siteExportW(port, 3);
      assert.ok(exportW <= limitW + EXPORT_TOLERANCE_W, `export ${exportW} W within the ${limitW} W limit`);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(samples > 0, 'the limit was checked while the utility was unreachable (make durationS longer)');

    // At its end the control completes and the program's DefaultDERControl takes over, still offline.
    const completed = await waitFor(async () => {
      const event = await gateway.store.events.get(eventId);
      return event?.status === 'completed' ? event : undefined;
    }, 'the event to complete');
    assert.equal(completed.status, 'completed');
    await waitFor(() => {
      const winner = decision(gateway, siteKey)?.winner;
      return winner?.isDefault === true && winner.value === defaultLimitW ? winner : undefined;
    }, 'the DefaultDERControl in force after the control');
    const exportAfter = await waitFor(async () => {
      const exportW = await siteExportW(port, 3);
      return exportW > limitW + EXPORT_TOLERANCE_W && exportW <= defaultLimitW + EXPORT_TOLERANCE_W
        ? exportW
        : undefined;
    }, `the site export to follow the default limit of ${defaultLimitW} W`);
    assert.ok(exportAfter <= defaultLimitW + EXPORT_TOLERANCE_W);
    assert.ok(proxy.refused > 0, 'the client kept trying the utility');
    assert.deepEqual(responses(), [1, 2], 'Completed could not be posted while the utility was away');

    proxy.up();
    await waitFor(() => (responses().includes(3) ? true : undefined), 'Response 3 once the utility is back');
    await waitFor(async () => {
      const docs = await gateway.store.documents.list(DEFAULT_CLIENT_STATE_NAMESPACE);
      const three = docs.find((d) => d.id.startsWith('response/') && d.id.endsWith(`:${mRID.toLowerCase()}:3`));
      return (three?.doc as { state?: string } | undefined)?.state === 'sent' ? true : undefined;
    }, 'Response 3 recorded as sent');
    await client.sync({ force: true });
    assert.deepEqual(responses(), [1, 2, 3], 'Completed posted exactly once');
  });
});

describe('fault: a battery goes offline under an aggregate target', () => {
  const temp = useTempDir('gridseam-faults-offline-');
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });
  const targetW = 4000;
  const eventId = 'dispatch-1';
  let gateway: Gateway | undefined;

  test('its share moves to the other battery and the exclusion is reported', async () => {
    const dir = temp.dir();
    // One battery per simulator, so one can be taken off the network alone.
    const simulators = [1, 2].map(
      () =>
        new SunSpecSimulator({
          port: 0,
          profile: 'battery',
          count: 1,
          startTime: noonToday(),
          physics: { initialSocPct: 60 },
        }),
    );
    const ports: number[] = [];
    for (const simulator of simulators) {
      ports.push((await simulator.start()).port);
      cleanups.push(() => simulator.stop());
    }
    const [port1, port2] = ports as [number, number];
    const config = parseConfig(
      gatewayYaml({
        devices: [
          { id: 'bat-1', port: port1, unit: 1 },
          { id: 'bat-2', port: port2, unit: 1 },
        ],
      }),
      join(dir, 'gateway.yaml'),
    );
    const started = await startGateway(config, { logger: createLogger({ level: 'silent' }), controlPeriodMs: 1000 });
    gateway = started;
    cleanups.push(() => started.close());
    const outcomes: EventOutcome[] = [];
    started.control.on('outcome', (outcome) => outcomes.push(outcome));
    await measured(started, ['bat-1', 'bat-2']);

    const actor = 'faults-test';
    await started.registry.createGroup({ id: 'batteries', name: 'Batteries', kind: 'group' }, actor);
    for (const deviceId of ['bat-1', 'bat-2']) await started.registry.addMember('batteries', { deviceId }, actor);
    await started.registry.createProgram(
      { id: 'dispatch', name: 'Dispatch', kind: 'demand-response', source: 'operator', primacy: 10 },
      actor,
    );
    await started.registry.createEvent(
      {
        id: eventId,
        programId: 'dispatch',
        intervals: [{ start: Date.now(), durationS: 600, signals: [{ kind: 'fixedW', value: targetW, unit: 'W' }] }],
        targets: { groupIds: ['batteries'] },
      },
      actor,
    );

    // Both batteries share the target, and the gateway has seen both discharge.
    const shared = await waitFor(async () => {
      const one = await batteryWSet(port1, 1);
      const two = await batteryWSet(port2, 1);
      return one !== undefined && two !== undefined && one > 0 && two > 0 && Math.abs(one + two - targetW) <= 2
        ? { one, two }
        : undefined;
    }, 'both batteries discharging their shares of the target');
    assert.ok(shared.one < targetW);
    await waitFor(async () => {
      for (const id of ['bat-1', 'bat-2']) {
        const power = await totalPowerW(started, id);
        if (power === undefined || power < 1000) return undefined;
      }
      return true;
    }, 'telemetry of both batteries discharging');

    // Battery 2 goes off the network: the edge marks it offline and the engine re-allocates.
    await simulators[1]?.stop();
    const grown = await waitFor(async () => {
      const one = await batteryWSet(port1, 1);
      return one !== undefined && Math.abs(one - targetW) <= 2 ? one : undefined;
    }, 'battery 1 to take the whole target');
    assert.ok(grown > shared.one, `battery 1 went from ${shared.one} W to ${grown} W`);

    const record = await waitFor(() => {
      const found = decision(started, 'group:batteries|fixedW');
      return found?.allocation?.excluded.some((e) => e.deviceId === 'bat-2') ? found : undefined;
    }, 'the decision to exclude battery 2');
    assert.equal(record.winner?.ref, eventId);
    assert.deepEqual(record.allocation?.excluded, [{ deviceId: 'bat-2', reason: 'offline' }]);
    assert.equal(record.allocation?.met, true, 'the remaining battery meets the target');
    const outcome = await waitFor(
      () => outcomes.find((o) => o.eventId === eventId && o.excludedDevices > 0),
      'an outcome reporting the excluded battery',
    );
    assert.equal(outcome.excludedDevices, 1);
    assert.equal(outcome.commands.failed, 0);
    const compliance = (await started.control.compliance()).find((c) => c.eventId === eventId);
    assert.ok(compliance, 'the event is in the compliance report');
    assert.equal(compliance.outcome, outcome.outcome);
    assert.deepEqual(compliance.failures, []);
  });

  test("the compliance report counts what the remaining battery delivers, not the offline one's last reading", async () => {
    const running = gateway;
    assert.ok(running, 'the previous test started the gateway');
    await waitFor(async () => {
      const power = await totalPowerW(running, 'bat-1');
      return power !== undefined && Math.abs(power - targetW) <= 50 ? power : undefined;
    }, 'telemetry of battery 1 at the whole target');
    const target = await waitFor(
      async () => {
        const found = (await running.control.compliance()).find((c) => c.eventId === eventId)?.targets[0];
        if (found?.compliant !== true)
          throw new Error(`deliveredW ${found?.deliveredW} for ${found?.value} W, compliant ${found?.compliant}`);
        return found;
      },
      'the compliance report to show the target delivered by battery 1',
      15_000,
    );
    assert.equal(target.deliveredFrom, 'devices');
    assert.ok(Math.abs((target.deliveredW ?? 0) - targetW) <= 50);
  });
});

/** A device's latest total (not per-phase) active power in the gateway store, W. */
async function totalPowerW(gateway: Gateway, deviceId: string): Promise<number | undefined> {
  const reading = (await gateway.store.telemetry.latest(deviceId)).find(
    (r) => r.measurand === 'activePower' && r.phase === undefined,
  );
  return typeof reading?.value === 'number' ? reading.value : undefined;
}
