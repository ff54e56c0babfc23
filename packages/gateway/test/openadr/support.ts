/**
 * What the OpenADR seam tests share: the BL and VEN clients of our OpenADR 3 VTN, that VTN on
 * 127.0.0.1, the one-site SunSpec fleet (PV, battery, site meter held at noon) and the gateway
 * configuration around it with the test's own `utility` section.
 */
import { createVtn, MemoryVtnStore, type Oadr3Version, type Vtn } from '@gridseam/openadr';
import { SunSpecSimulator } from '@gridseam/sunspec';
import { noonToday } from '../seams/support.ts';

export const BL = { clientId: 'bl-1', secret: 'bl-secret' };
export const VEN = { clientId: 'gateway-ven', secret: 'gateway-ven-secret', venName: 'gateway-1' };

/** Our OpenADR 3 VTN with its own HS256 issuer and the BL and VEN clients, listening on a free port. */
export async function startOadr3Vtn(version: Oadr3Version, signingSecret: string): Promise<{ vtn: Vtn; url: string }> {
  const vtn = await createVtn({
    version,
    store: new MemoryVtnStore(),
    auth: {
      issuer: { kind: 'internal', key: { alg: 'HS256', secret: signingSecret } },
      clients: [
        { clientId: BL.clientId, secret: BL.secret, role: 'bl' },
        { clientId: VEN.clientId, secret: VEN.secret, role: 'ven', venName: VEN.venName },
      ],
    },
  });
  const { url } = await vtn.listen({ host: '127.0.0.1', port: 0 });
  return { vtn, url };
}

/** Units 1..3: a PV inverter, a battery and the site meter, held at noon. */
export async function startSiteSimulator(): Promise<{ simulator: SunSpecSimulator; port: number }> {
  const simulator = new SunSpecSimulator({
    port: 0,
    profile: 'pv-inverter,battery,meter',
    count: 3,
    startTime: noonToday(),
  });
  const { port } = await simulator.start();
  return { simulator, port };
}

/**
 * The gateway's YAML: SQLite, the in-process bus, site-1 with pv-1, bat-1 and meter-1 on the
 * simulator's units 1..3 (polled every 200 ms), `api` as given (default: port 0, no tokens) and
 * `utility` (indented two spaces, as under `utility:`).
 */
export function oneSiteGatewayYaml(modbusPort: number, utility: string, api = 'api: { port: 0 }'): string {
  return `
store: { kind: sqlite, path: gateway.sqlite }
bus: { kind: memory }
${api}
telemetry: { flushIntervalMs: 20, batchSize: 100 }
log: { level: silent }
fleet:
  sites: [{ id: site-1, name: Site one }]
sunspec:
  timeoutMs: 2000
  devices:
    - { id: pv-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 1, pollIntervalMs: 200 }
    - { id: bat-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 2, pollIntervalMs: 200 }
    - { id: meter-1, siteId: site-1, host: 127.0.0.1, port: ${modbusPort}, unit: 3, pollIntervalMs: 200 }
utility:
${utility}`;
}
