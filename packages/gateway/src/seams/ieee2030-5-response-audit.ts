/**
 * The IEEE 2030.5 Responses the client posts, as audit rows: what the operator API's
 * `GET /api/events/{id}/reports` lists next to the OpenADR reports (api/routes/event-reports.ts).
 *
 * How the seam learns of a posted Response without a hook in the client: the client persists every
 * Response through its ClientStateStore in three steps (client/state.ts, "record intent, post, mark
 * sent"): `pending` before the POST, then `sent` once the server acknowledged it (2xx) or `rejected`
 * when the server refused it (4xx). A Response the client decides not to post (a status the utility
 * does not accept, a control without replyTo) is written `rejected` with no `pending` before it.
 * So a `sent` or `rejected` record whose previous state was `pending` is exactly one POST that got
 * an answer: one row each, never one per poll. After a restart, records still `pending` are loaded
 * as such; the client posts them again and the row follows that POST.
 *
 * Rows: action 'ieee2030_5.response', targetType 'event', targetId the canonical event of the
 * DERControl (the event whose externalId is the mRID, else `sep.<mRID>`, the id the seam gives it),
 * detail `SepResponseDetail`. A failing audit write is logged and never fails the client's write.
 */
import {
  type ClientStateChange,
  type ClientStateStore,
  type ClientStoredRecord,
  RESPONSE_STATUS,
  type ResponseRecordDoc,
} from '@gridseam/ieee2030-5';

export const IEEE2030_5_RESPONSE_ACTION = 'ieee2030_5.response';

/** The detail of one row. */
export interface SepResponseDetail {
  protocol: 'ieee2030.5';
  /** Response status (2030.5 Table 27: 1 received, 2 started, 3 completed, 6 cancelled, ...). */
  status: number;
  /** Its name in RESPONSE_STATUS (eventReceived, ...), when it has one. */
  statusName?: string;
  /** The DERControl's mRID (lower case). */
  mRID: string;
  endDeviceLfdi: string;
  /** Where it was posted (the control's replyTo). */
  replyTo: string;
  /** Posted and answered; always true (a Response that was not posted has no row). */
  sent: true;
  /** Whether the server took it (2xx); false: refused (4xx), see reason. */
  accepted: boolean;
  reason?: string;
  [extra: string]: unknown;
}

const STATUS_NAMES = new Map<number, string>(Object.entries(RESPONSE_STATUS).map(([name, code]) => [code, name]));

export function responseDetail(doc: ResponseRecordDoc): SepResponseDetail {
  const name = STATUS_NAMES.get(doc.status);
  return {
    protocol: 'ieee2030.5',
    status: doc.status,
    ...(name === undefined ? {} : { statusName: name }),
    mRID: doc.mRID,
    endDeviceLfdi: doc.endDeviceLfdi,
    replyTo: doc.replyTo,
    sent: true,
    accepted: doc.state === 'sent',
    ...(doc.reason === undefined ? {} : { reason: doc.reason.slice(0, 1024) }),
  };
}

function isResponseDoc(doc: unknown): doc is ResponseRecordDoc {
  if (typeof doc !== 'object' || doc === null) return false;
  const { mRID, status, state, endDeviceLfdi } = doc as Partial<ResponseRecordDoc>;
  return (
    typeof mRID === 'string' &&
    typeof status === 'number' &&
    typeof state === 'string' &&
    typeof endDeviceLfdi === 'string'
  );
}

/**
 * Wraps the client's store: writes go through unchanged, and after each committed write every
 * Response that went from `pending` to `sent` or `rejected` is handed to `posted` (awaited, its
 * failure reported to `failed`, never thrown).
 */
export function auditPostedResponses(
  inner: ClientStateStore,
  posted: (response: ResponseRecordDoc) => Promise<void>,
  failed: (error: unknown, response: ResponseRecordDoc) => void,
): ClientStateStore {
  /** Ids of Response records whose latest state is `pending`. */
  const pending = new Set<string>();
  const note = (id: string, doc: unknown): ResponseRecordDoc | undefined => {
    if (!isResponseDoc(doc)) {
      pending.delete(id);
      return undefined;
    }
    if (doc.state === 'pending') {
      pending.add(id);
      return undefined;
    }
    const wasPending = pending.delete(id);
    return wasPending && (doc.state === 'sent' || doc.state === 'rejected') ? doc : undefined;
  };
  return {
    async load(): Promise<ClientStoredRecord[]> {
      const records = await inner.load();
      for (const record of records) if (record.kind === 'response') note(record.id, record.doc);
      return records;
    },
    async write(changes: readonly ClientStateChange[]): Promise<void> {
      await inner.write(changes);
      for (const change of changes) {
        if (change.kind !== 'response') continue;
        const answered = note(change.id, change.doc);
        if (answered === undefined) continue;
        try {
          await posted(answered);
        } catch (error) {
          failed(error, answered);
        }
      }
    },
  };
}
