/**
 * Subscription/Notification on the client side (2030.5 §2.5 of our notes; CSIP-AUS aggregators use it instead of
 * polling). Two parts:
 *
 * - `NotificationReceiver`: the endpoint the utility POSTs Notifications to. HTTPS with mutual TLS (our own
 *   certificate; the server's must chain to the utility CA), or plain HTTP behind a TLS terminator. Bodies are
 *   size-limited and parsed with `parseSep(expect 'Notification')`; malformed or hostile bodies get 400, oversized
 *   ones 413, a good one 204 at once (the work happens after the answer). Nothing a peer sends can throw out of it.
 * - `SubscriptionManager`: one Subscription per subscribable resource (`subscribable` ≥ 1) the poller found,
 *   POSTed to the owning EndDevice's SubscriptionListLink and persisted in the ClientStateStore (kind
 *   'subscription', id = resource path) so a restart reuses it. On the first reconcile after a start each
 *   EndDevice's SubscriptionList is read once: ours (same notificationURI) are adopted, duplicates deleted, and
 *   persisted ones the server no longer has are created again.
 *
 * The client answers a Notification by re-fetching the subscribed resource at once (every page, with the
 * server's per-request EventStatus) rather than applying the carried copy, which holds only `limit` items.
 * Status 1..4 (cancelled, moved, definition changed, deleted; sep.xsd Notification.status) drop the
 * subscription and force a full poll, after which the resource is subscribed again if it is still offered.
 * Polling at the pollRate continues underneath as the safety net.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { GridseamError } from '@gridseam/model';
import { parseSep } from '../codec/parse.ts';
import type { Notification, Subscription } from '../resources/types.ts';
import { type SepTlsCredentials, sepServerTlsOptions } from '../tls.ts';
import type { SepHttp } from './http.ts';
import type { ClientStateChange, ClientStateStore, ClientStoredRecord } from './state.ts';

export interface NotificationReceiverOptions {
  host: string;
  port: number;
  /** Mutual TLS with these credentials; absent: plain HTTP (behind a TLS terminator, or tests). */
  tls?: SepTlsCredentials & {
    /**
     * Also accept ECDHE-ECDSA-AES128-GCM-SHA256 after CCM8. Default true: notifying servers that never set a
     * cipher list (Node's defaults, ours included) offer no CCM8.
     */
    allowDefaultCiphers?: boolean;
  };
  /** Largest Notification accepted, bytes. Default 256 KiB. */
  maxBodyBytes?: number;
}

export type NotificationHandler = (notification: Notification) => void;

const DEFAULT_MAX_NOTIFICATION_BYTES = 256 * 1024;

/** Accepts POSTed 2030.5 Notifications and hands each parsed one to `onNotification`. */
export class NotificationReceiver {
  readonly #options: NotificationReceiverOptions;
  readonly #onNotification: NotificationHandler;
  readonly #maxBytes: number;
  #server: Server | undefined;
  /** Notifications accepted and refused since start (tests, metrics). */
  accepted = 0;
  refused = 0;

  constructor(options: NotificationReceiverOptions, onNotification: NotificationHandler) {
    this.#options = options;
    this.#onNotification = onNotification;
    this.#maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_NOTIFICATION_BYTES;
  }

  /** Starts listening; resolves with the bound address (port 0 picks one). */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.#server !== undefined) throw new GridseamError('GW_ERR_CONFLICT', 'the receiver is already listening');
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const tls = this.#options.tls;
    const server: Server =
      tls === undefined
        ? createHttpServer(handler)
        : createHttpsServer(
            sepServerTlsOptions({ ...tls, allowDefaultCiphers: tls.allowDefaultCiphers ?? true }),
            handler,
          );
    // A slow or silent peer must not hold a connection for long.
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    server.keepAliveTimeout = 60_000;
    server.maxConnections = 64;
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', onError);
        resolve();
      });
    }).catch((cause: unknown) => {
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `the notification receiver cannot listen on ${this.#options.host}:${this.#options.port}`,
        { cause },
      );
    });
    server.on('error', () => undefined);
    this.#server = server;
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Answers; with `close` the connection ends once the answer is written (the rest of the body is not read). */
  #answer(res: ServerResponse, status: number, message = '', close = false): void {
    if (res.headersSent) return;
    res.writeHead(status, {
      'content-length': String(Buffer.byteLength(message)),
      ...(message === '' ? {} : { 'content-type': 'text/plain; charset=utf-8' }),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(message, () => {
      if (close) res.socket?.destroy();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => undefined);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      this.#answer(res, 405);
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.#maxBytes) {
      this.refused += 1;
      this.#answer(res, 413, `a Notification is at most ${this.#maxBytes} bytes`, true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > this.#maxBytes) {
        tooLarge = true;
        this.refused += 1;
        this.#answer(res, 413, `a Notification is at most ${this.#maxBytes} bytes`, true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      let notification: Notification;
      try {
        notification = parseSep(Buffer.concat(chunks), { expect: 'Notification', maxBytes: this.#maxBytes })
          .value as Notification;
      } catch (error) {
        this.refused += 1;
        const code = error instanceof GridseamError ? error.code : 'GW_ERR_MALFORMED';
        if (code === 'GW_ERR_BODY_TOO_LARGE') this.#answer(res, 413, 'the Notification is too large');
        else this.#answer(res, 400, `not a 2030.5 Notification (${code})`);
        return;
      }
      this.accepted += 1;
      this.#answer(res, 204);
      try {
        this.#onNotification(notification);
      } catch {
        // The handler's own failures are its business; the peer already has its answer.
      }
    });
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------------------------

/** A Subscription we hold. Record kind 'subscription', id = `resource`. */
export interface SubscriptionRecordDoc {
  /** Path of the subscribed resource (as the server linked it). */
  resource: string;
  /** Path of the EndDevice whose SubscriptionList holds it. */
  endDeviceHref: string;
  /** Path of the Subscription (the Location of the POST). */
  href: string;
  notificationURI: string;
}

/** What the poller found for one EndDevice. */
export interface SubscribableSet {
  endDeviceHref: string;
  subscriptionListHref?: string;
  /** Paths of resources advertised with subscribable ≥ 1. */
  resources: readonly string[];
}

export interface SubscriptionManagerOptions {
  notificationURI: string;
  /** Subscription.limit (list items per notification). Default 10. */
  limit?: number;
  /** Page size when reading a SubscriptionList. Default 10. */
  pageSize?: number;
}

/** The client's reaction to one Notification. */
export type NotificationAction =
  | { kind: 'refresh'; resource: string }
  | { kind: 'resubscribe'; resource: string }
  | { kind: 'ignore'; reason: string };

function asError(error: unknown): GridseamError {
  if (error instanceof GridseamError) return error;
  return new GridseamError('GW_ERR_INTERNAL', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

function isSubscriptionDoc(value: unknown): value is SubscriptionRecordDoc {
  if (typeof value !== 'object' || value === null) return false;
  const doc = value as Record<string, unknown>;
  return (
    typeof doc.resource === 'string' &&
    typeof doc.endDeviceHref === 'string' &&
    typeof doc.href === 'string' &&
    typeof doc.notificationURI === 'string'
  );
}

export class SubscriptionManager {
  readonly #http: SepHttp;
  readonly #store: ClientStateStore;
  readonly #options: Required<SubscriptionManagerOptions>;
  /** By lower-cased resource path. */
  readonly #held = new Map<string, SubscriptionRecordDoc>();
  /** EndDevices whose SubscriptionList was checked since start. */
  readonly #verified = new Set<string>();
  /** Resources the server refused to subscribe (4xx): left to polling until the next start. */
  readonly #refused = new Set<string>();

  constructor(http: SepHttp, store: ClientStateStore, options: SubscriptionManagerOptions) {
    this.#http = http;
    this.#store = store;
    this.#options = { limit: 10, pageSize: 10, ...options };
  }

  /** Takes the persisted subscriptions from the store's records. */
  load(records: readonly ClientStoredRecord[]): void {
    for (const record of records) {
      if (record.kind === 'subscription' && isSubscriptionDoc(record.doc))
        this.#held.set(record.doc.resource.toLowerCase(), record.doc);
    }
  }

  /** The subscriptions held now. */
  list(): SubscriptionRecordDoc[] {
    return [...this.#held.values()];
  }

  #pathOf(href: string): string | undefined {
    try {
      return this.#http.pathOf(href);
    } catch {
      return undefined;
    }
  }

  /** Decides what a Notification means; drops the subscription when the server ended it. */
  async notified(notification: Notification): Promise<NotificationAction> {
    const path = this.#pathOf(notification.subscribedResource);
    const held = path === undefined ? undefined : this.#held.get(path.toLowerCase());
    if (held === undefined) return { kind: 'ignore', reason: 'not a resource we subscribed to' };
    if (notification.status === 0) return { kind: 'refresh', resource: held.resource };
    // 1 cancelled, 2 moved, 3 definition changed, 4 deleted: the subscription ends. The server has usually
    // deleted it already (404); deleting it here too means a stray status never leaves two behind.
    await this.#delete(held.href).catch(() => undefined);
    await this.#forget(held);
    return { kind: 'resubscribe', resource: held.resource };
  }

  async #persist(changes: ClientStateChange[]): Promise<void> {
    if (changes.length > 0) await this.#store.write(changes);
  }

  async #forget(doc: SubscriptionRecordDoc): Promise<void> {
    await this.#persist([{ kind: 'subscription', id: doc.resource, doc: null }]);
    this.#held.delete(doc.resource.toLowerCase());
  }

  async #remember(doc: SubscriptionRecordDoc): Promise<void> {
    await this.#persist([{ kind: 'subscription', id: doc.resource, doc }]);
    this.#held.set(doc.resource.toLowerCase(), doc);
  }

  /**
   * Brings the held subscriptions in line with what the poller found. `complete`: the walk reached everything,
   * so subscriptions of resources no longer offered are deleted. Returns the failures (the rest carries on).
   */
  async reconcile(sets: readonly SubscribableSet[], complete: boolean): Promise<GridseamError[]> {
    const failures: GridseamError[] = [];
    const wanted = new Set<string>();
    for (const set of sets) {
      if (set.subscriptionListHref === undefined) continue;
      for (const resource of set.resources) wanted.add(resource.toLowerCase());
      try {
        if (!this.#verified.has(set.endDeviceHref)) await this.#verify(set);
        for (const resource of set.resources) {
          const key = resource.toLowerCase();
          if (this.#held.has(key) || this.#refused.has(key)) continue;
          await this.#subscribe(set, resource);
        }
      } catch (error) {
        failures.push(asError(error));
      }
    }
    if (complete) {
      for (const [key, doc] of [...this.#held]) {
        if (wanted.has(key)) continue;
        try {
          await this.#delete(doc.href);
          await this.#forget(doc);
        } catch (error) {
          failures.push(asError(error));
        }
      }
    }
    return failures;
  }

  async #delete(href: string): Promise<void> {
    try {
      await this.#http.delete(href);
    } catch (error) {
      if (!(error instanceof GridseamError && error.code === 'GW_ERR_NOT_FOUND')) throw error;
    }
  }

  /**
   * Reads the EndDevice's SubscriptionList once: adopt ours (same notificationURI), delete duplicates and the
   * ones we made for another notificationURI, forget what the server lost (it is created again).
   */
  async #verify(set: SubscribableSet): Promise<void> {
    const listHref = set.subscriptionListHref;
    if (listHref === undefined) return;
    const list = await this.#http.getList(listHref, 'SubscriptionList', this.#options.pageSize);
    const persisted = new Set([...this.#held.values()].map((doc) => doc.href));
    const duplicates: string[] = [];
    // Our subscriptions on the server (same notificationURI), by resource.
    const onServer = new Map<string, { resource: string; hrefs: string[] }>();
    for (const item of list.items as unknown as Subscription[]) {
      const href = item.href === undefined ? undefined : this.#pathOf(item.href);
      const resource = this.#pathOf(item.subscribedResource);
      if (href === undefined || resource === undefined) continue;
      if (item.notificationURI !== this.#options.notificationURI) {
        if (persisted.has(href)) duplicates.push(href); // ours, for an address we no longer listen on
        continue;
      }
      const key = resource.toLowerCase();
      const entry = onServer.get(key) ?? { resource, hrefs: [] };
      entry.hrefs.push(href);
      onServer.set(key, entry);
    }
    for (const [key, doc] of [...this.#held]) {
      if (doc.endDeviceHref !== set.endDeviceHref) continue;
      const entry = onServer.get(key);
      if (entry?.hrefs.includes(doc.href)) {
        duplicates.push(...entry.hrefs.filter((href) => href !== doc.href));
        onServer.delete(key);
      } else await this.#forget(doc); // lost on the server: adopted below or created again
    }
    for (const [key, entry] of onServer) {
      const [first, ...rest] = entry.hrefs;
      duplicates.push(...rest);
      if (first === undefined) continue;
      if (this.#held.has(key)) duplicates.push(first);
      else
        await this.#remember({
          resource: set.resources.find((resource) => resource.toLowerCase() === key) ?? entry.resource,
          endDeviceHref: set.endDeviceHref,
          href: first,
          notificationURI: this.#options.notificationURI,
        });
    }
    for (const href of duplicates) await this.#delete(href);
    this.#verified.add(set.endDeviceHref);
  }

  async #subscribe(set: SubscribableSet, resource: string): Promise<void> {
    const listHref = set.subscriptionListHref;
    if (listHref === undefined) return;
    let location: string | undefined;
    try {
      const reply = await this.#http.post(listHref, 'Subscription', {
        subscribedResource: resource,
        notificationURI: this.#options.notificationURI,
        limit: this.#options.limit,
        encoding: 0, // application/sep+xml
        level: '+S1',
      });
      location = reply.location;
    } catch (error) {
      if (
        error instanceof GridseamError &&
        (error.code === 'GW_ERR_DEVICE_REJECTED' || error.code === 'GW_ERR_NOT_FOUND')
      )
        this.#refused.add(resource.toLowerCase());
      throw error;
    }
    if (location === undefined) {
      this.#refused.add(resource.toLowerCase());
      throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `POST ${listHref}: a Subscription created without a Location`, {
        details: { peer: 'utility', resource },
      });
    }
    await this.#remember({
      resource,
      endDeviceHref: set.endDeviceHref,
      href: location,
      notificationURI: this.#options.notificationURI,
    });
  }

  /** Deletes every held subscription on the server (best effort) and forgets them. */
  async unsubscribeAll(): Promise<GridseamError[]> {
    const failures: GridseamError[] = [];
    for (const doc of [...this.#held.values()]) {
      try {
        await this.#delete(doc.href);
        await this.#forget(doc);
      } catch (error) {
        failures.push(asError(error));
      }
    }
    return failures;
  }
}
