import { type FleetSummarizer, FleetSummarySchema } from '../fleet-summary.ts';
import { errorResponses } from '../schemas.ts';
import type { Api } from './context.ts';

/** GET /api/fleet/summary: the fleet at a glance (api/fleet-summary.ts has the rules). */
export function fleetRoutes(app: Api, summaries: Pick<FleetSummarizer, 'get'>): void {
  app.get(
    '/api/fleet/summary',
    {
      schema: {
        tags: ['fleet'],
        operationId: 'fleetSummary',
        summary:
          'Devices by class and state, online/offline, power by class, battery SoC distribution, active and upcoming events',
        description:
          'Online: enabled, a reading or an online announcement within 5 minutes, and no offline announcement since. ' +
          'Power and SoC: latest readings no older than 5 minutes. Cached for one second.',
        response: { 200: FleetSummarySchema, ...errorResponses },
      },
    },
    async () => summaries.get(),
  );
}
