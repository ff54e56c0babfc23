/** Shared pieces of the 2.0b VEN tests: metadata reports, a telemetry source, bounded waits. */
import type { Ven2bReportMetadata, Ven2bSample, Ven2bTelemetrySource } from '../../../src/v2b/ven/index.ts';

export const USAGE_RID = 'site-1:power';
export const STATUS_RID = 'site-1:status';

/** METADATA_TELEMETRY_USAGE (real power W) and METADATA_TELEMETRY_STATUS of one resource. */
export const TEST_REPORTS: Ven2bReportMetadata[] = [
  {
    reportSpecifierId: 'telemetry-usage',
    reportName: 'METADATA_TELEMETRY_USAGE',
    descriptions: [
      {
        rID: USAGE_RID,
        reportDataSource: { resourceID: ['site-1'] },
        reportType: 'usage',
        itemBase: {
          kind: 'powerReal',
          itemDescription: 'RealPower',
          itemUnits: 'W',
          siScaleCode: 'none',
          powerAttributes: { hertz: 50, voltage: 230, ac: true },
        },
        readingType: 'Direct Read',
        oadrSamplingRate: { oadrMinPeriod: 1, oadrMaxPeriod: 60, oadrOnChange: false },
      },
    ],
  },
  {
    reportSpecifierId: 'telemetry-status',
    reportName: 'METADATA_TELEMETRY_STATUS',
    descriptions: [
      {
        rID: STATUS_RID,
        reportDataSource: { resourceID: ['site-1'] },
        reportType: 'x-resourceStatus',
        readingType: 'x-notApplicable',
        oadrSamplingRate: { oadrMinPeriod: 1, oadrMaxPeriod: 60, oadrOnChange: false },
      },
    ],
  },
];

/** Usage 1500 W, online and not overridden. */
export const testTelemetry: Ven2bTelemetrySource = (request) => {
  const samples: Ven2bSample[] = [];
  for (const rID of request.rIds) {
    if (rID === USAGE_RID) samples.push({ rID, value: 1500, quality: 'Quality Good - Non Specific' });
    if (rID === STATUS_RID)
      samples.push({ rID, value: { kind: 'oadrPayloadResourceStatus', oadrOnline: true, oadrManualOverride: false } });
  }
  return samples;
};

/** Polls `check` every 25 ms until it returns a value other than undefined; gives up after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}
