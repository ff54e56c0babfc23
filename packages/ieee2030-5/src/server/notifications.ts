/**
 * Subscription/Notification (2030.5 §9.x; CSIP: MUST for the utility server). When a subscribed resource
 * changes, the server renders it as the subscriber would GET it (lists: the first `limit` items) and POSTs a
 * Notification to the notificationURI, over HTTPS with the server certificate as client certificate.
 *
 * Delivery is per subscription and in order; a newer notification for the same subscription replaces one not
 * yet delivered (the subscriber only needs the latest state). Network errors, timeouts, 5xx and 429 are
 * retried with exponential back-off (CACTUS S-ALL-46 "Communication Loss"); after the retry budget the
 * notification is parked and retried every maxDelayMs for as long as its subscription exists (a subscriber
 * that comes back still gets the latest state); other 4xx give up. Loopback,
 * link-local, unspecified, multicast and cloud-metadata addresses are refused (SSRF), also after DNS
 * resolution, unless the options allow loopback (tests). The queue lives in memory: notifications pending at
 * shutdown are not delivered after a restart.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { checkServerIdentity, type PeerCertificate, rootCertificates } from 'node:tls';
import { GridseamError } from '@gridseam/model';
import { emitSep } from '../codec/index.ts';
import { lfdiEquals, lfdiFromCertificate } from '../identity/lfdi.ts';
import type { SubscriptionRecord } from './contract.ts';
import type { ServerCore } from './core.ts';
import { href, parsePath, type Route } from './routes.ts';
import { change } from './state.ts';
import type { ChangeEvent } from './writes.ts';

const forbiddenAddresses = new BlockList();
forbiddenAddresses.addSubnet('0.0.0.0', 8, 'ipv4');
forbiddenAddresses.addSubnet('127.0.0.0', 8, 'ipv4');
forbiddenAddresses.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 metadata
forbiddenAddresses.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
forbiddenAddresses.addSubnet('240.0.0.0', 4, 'ipv4');
forbiddenAddresses.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
forbiddenAddresses.addAddress('::', 'ipv6');
forbiddenAddresses.addAddress('::1', 'ipv6');
forbiddenAddresses.addSubnet('fe80::', 10, 'ipv6');
forbiddenAddresses.addSubnet('ff00::', 8, 'ipv6');
forbiddenAddresses.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6

/** True for addresses a notification must never be sent to (loopback, link-local, metadata, multicast). */
export function isForbiddenNotificationAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return forbiddenAddresses.check(mapped[1], 'ipv4');
    return forbiddenAddresses.check(address, 'ipv6');
  }
  return forbiddenAddresses.check(address, 'ipv4');
}

interface Delivery {
  subscriptionId: number;
  /** The last notification of a deleted resource (status 4); sent although the subscription is gone. */
  final: boolean;
  uri: string;
  body: string;
  attempt: number;
  /** LFDIs whose certificate proves the receiver: the subscribing EndDevice's and its aggregator's. */
  receiverLfdis: string[];
}

interface Queue {
  current: Delivery | undefined;
  pending: Delivery | undefined;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
  /** The retry budget is spent; retried slowly and not waited for by drain(). */
  parked: boolean;
}

export class Notifier {
  readonly #queues = new Map<number, Queue>();
  readonly #routes = new WeakMap<SubscriptionRecord, Route | null>();
  readonly #idle: Array<() => void> = [];
  readonly #httpsAgent: HttpsAgent;
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
  #closed = false;
  delivered = 0;
  failed = 0;

  constructor(
    private readonly core: ServerCore,
    clientCredentials: { key: string | Buffer; cert: string | Buffer } | undefined,
  ) {
    const options = core.options.notifications;
    const extraCa = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
    this.#httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 4,
      ...(clientCredentials ?? {}),
      ca: [...rootCertificates, ...extraCa],
      rejectUnauthorized: options.rejectUnauthorized,
    });
  }

  #route(subscription: SubscriptionRecord): Route | undefined {
    let route = this.#routes.get(subscription);
    if (route === undefined) {
      route = parsePath(subscription.subscribedResource) ?? null;
      this.#routes.set(subscription, route);
    }
    return route ?? undefined;
  }

  /** Which subscriptions a change concerns. */
  #matches(subscription: SubscriptionRecord, event: ChangeEvent): boolean {
    const route = this.#route(subscription);
    if (route === undefined) return false;
    switch (event.kind) {
      case 'controls': {
        if (!('programId' in route) || route.programId !== event.programId) return false;
        if (event.endDeviceIds !== undefined && !event.endDeviceIds.includes(route.deviceId)) return false;
        if (route.kind === 'dercList' || route.kind === 'actdercList') return true;
        return route.kind === 'derc' && event.mRIDs.includes(route.mRID);
      }
      case 'defaultControl':
        return (
          route.kind === 'dderc' &&
          route.programId === event.programId &&
          (event.endDeviceId === undefined || event.endDeviceId === route.deviceId)
        );
      case 'programs':
        return (
          route.kind === 'fsaList' || route.kind === 'fsaDerpList' || route.kind === 'derpList' || route.kind === 'derp'
        );
      case 'pollRate':
        if (event.family === 'EndDeviceList') return route.kind === 'edevList';
        if (event.family === 'FunctionSetAssignmentsList') return route.kind === 'fsaList';
        if (event.family === 'DERProgramList') return route.kind === 'derpList' || route.kind === 'fsaDerpList';
        return false;
      case 'endDevices': {
        if (route.kind === 'edev') return event.ids.includes(route.deviceId);
        if (route.kind !== 'edevList') return false;
        const owner = this.core.state.endDevices.get(subscription.endDeviceId);
        if (owner === undefined) return false;
        return event.ids.some((id) => {
          const device = this.core.state.endDevices.get(id);
          return id === owner.id || device?.aggregatorLfdi === owner.lfdi;
        });
      }
    }
  }

  /** Queues Notifications for every subscription the change concerns. */
  changed(event: ChangeEvent): void {
    if (this.#closed || this.core.state.subscriptions.size === 0) return;
    for (const subscription of this.core.state.subscriptions.values()) {
      if (!this.#matches(subscription, event)) continue;
      try {
        this.#enqueue(subscription);
      } catch (error) {
        this.core.options.log('warn', 'a 2030.5 notification could not be prepared', {
          subscription: subscription.id,
          error: String(error),
        });
      }
    }
  }

  #enqueue(subscription: SubscriptionRecord): void {
    const { core } = this;
    const route = this.#route(subscription);
    const owner = core.state.endDevices.get(subscription.endDeviceId);
    if (route === undefined || owner === undefined) return;
    const access = core.accessFor(owner.aggregatorLfdi ?? owner.lfdi);
    const base = {
      subscribedResource: subscription.subscribedResource,
      subscriptionURI: href.sub(subscription.endDeviceId, subscription.id),
    };
    let body: string;
    let gone = false;
    try {
      const { doc } = core.resolve(route, access, { s: 0, l: subscription.limit, a: undefined }, core.now());
      body = emitSep(
        'Notification',
        { ...base, status: 0, Resource: { type: doc.name, value: doc.value } as never },
        { csipaus: core.options.csipausVersion },
      );
    } catch (error) {
      if (!GridseamError.is(error) || error.statusCode !== 404) throw error;
      // 2030.5 Notification.status 4: subscription cancelled, resource deleted.
      body = emitSep('Notification', { ...base, status: 4 }, { csipaus: core.options.csipausVersion });
      gone = true;
    }
    const delivery: Delivery = {
      subscriptionId: subscription.id,
      final: gone,
      uri: subscription.notificationURI,
      body,
      attempt: 0,
      receiverLfdis: [owner.lfdi, ...(owner.aggregatorLfdi === undefined ? [] : [owner.aggregatorLfdi])],
    };
    let queue = this.#queues.get(subscription.id);
    if (queue === undefined) {
      queue = { current: undefined, pending: undefined, timer: undefined, busy: false, parked: false };
      this.#queues.set(subscription.id, queue);
    }
    if (queue.current === undefined) queue.current = delivery;
    else if (queue.parked && !queue.busy) {
      // A newer state for a parked subscription: start over with it now.
      if (queue.timer !== undefined) clearTimeout(queue.timer);
      queue.timer = undefined;
      queue.parked = false;
      queue.current = delivery;
    } else queue.pending = delivery;
    if (gone) {
      void core.state
        .transact(() => ({ changes: [change('subscription', subscription.id, null)], result: undefined }))
        .catch(() => undefined);
    }
    if (!queue.busy && queue.timer === undefined) this.#run(subscription.id, queue);
  }

  #run(subscriptionId: number, queue: Queue): void {
    const delivery = queue.current;
    if (delivery === undefined || this.#closed) {
      this.#queues.delete(subscriptionId);
      this.#checkIdle();
      return;
    }
    queue.busy = true;
    delivery.attempt += 1;
    void this.#send(delivery).then((outcome) => {
      queue.busy = false;
      if (this.#closed) return this.#run(subscriptionId, queue);
      const options = this.core.options.notifications;
      if (outcome === 'delivered' || outcome === 'rejected') {
        if (outcome === 'delivered') this.delivered += 1;
        else {
          this.failed += 1;
          this.core.options.log('warn', 'a 2030.5 notification was refused by its receiver', {
            subscription: subscriptionId,
          });
        }
        queue.parked = false;
        queue.current = queue.pending;
        queue.pending = undefined;
        return this.#run(subscriptionId, queue);
      }
      // Retry later; the newest state replaces what was waiting.
      if (queue.pending !== undefined) {
        queue.pending.attempt = delivery.attempt;
        queue.current = queue.pending;
        queue.pending = undefined;
      }
      let delay = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (delivery.attempt - 1));
      if (delivery.attempt >= options.attempts) {
        // Retry budget spent: park it. It is retried every maxDelayMs until it is delivered, replaced by a
        // newer notification or its subscription is deleted, so a subscriber that recovers still gets it.
        if (!queue.parked)
          this.core.options.log('warn', 'a 2030.5 notification is undeliverable; retrying slowly', {
            subscription: subscriptionId,
            attempts: delivery.attempt,
          });
        queue.parked = true;
        delay = options.maxDelayMs;
      }
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        this.#run(subscriptionId, queue);
      }, delay);
      queue.timer.unref();
      this.#checkIdle();
    });
  }

  #send(delivery: Delivery): Promise<'delivered' | 'retry' | 'rejected'> {
    const options = this.core.options.notifications;
    // The subscription may have been deleted while this waited.
    if (!delivery.final && !this.core.state.subscriptions.has(delivery.subscriptionId))
      return Promise.resolve('rejected');
    let url: URL;
    try {
      url = new URL(delivery.uri);
    } catch {
      return Promise.resolve('rejected');
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowLoopback && isForbiddenNotificationAddress(host)) return Promise.resolve('rejected');
    const secure = url.protocol === 'https:';
    if (!secure && !(options.allowLoopback && url.protocol === 'http:')) return Promise.resolve('rejected');
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: 'delivered' | 'retry' | 'rejected') => {
        if (!settled) {
          settled = true;
          resolve(outcome);
        }
      };
      const body = Buffer.from(delivery.body, 'utf8');
      const requestOptions = {
        method: 'POST',
        headers: { 'content-type': 'application/sep+xml', 'content-length': String(body.length) },
        lookup: this.#guardedLookup,
      };
      const request = secure
        ? httpsRequest(url, {
            ...requestOptions,
            agent: this.#httpsAgent,
            checkServerIdentity: (hostname, certificate) => this.#receiverIdentity(delivery, hostname, certificate),
          })
        : httpRequest(url, { ...requestOptions, agent: this.#httpAgent });
      request.setTimeout(options.timeoutMs, () => request.destroy(new Error('notification timed out')));
      request.on('response', (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        response.on('end', () =>
          finish(status >= 200 && status < 300 ? 'delivered' : status >= 500 || status === 429 ? 'retry' : 'rejected'),
        );
        response.on('error', () => finish('retry'));
      });
      request.on('error', (error) =>
        finish((error as { code?: string }).code === 'GW_FORBIDDEN_ADDRESS' ? 'rejected' : 'retry'),
      );
      request.end(body);
    });
  }

  /**
   * The receiver is the subscriber when its certificate (already chained to a trusted CA) carries the
   * subscriber's LFDI (IEEE 2030.5 §6.11: device identity is the certificate's LFDI, and device
   * certificates name no host). Otherwise, with checkHostname, the host name must match as for any
   * HTTPS server (a relay with a public name); without it, the chain alone is enough.
   */
  #receiverIdentity(delivery: Delivery, hostname: string, certificate: PeerCertificate): Error | undefined {
    const raw = certificate.raw;
    if (raw !== undefined && raw.length > 0) {
      const lfdi = lfdiFromCertificate(raw);
      if (delivery.receiverLfdis.some((expected) => lfdiEquals(expected, lfdi))) return undefined;
    }
    return this.core.options.notifications.checkHostname ? checkServerIdentity(hostname, certificate) : undefined;
  }

  /** DNS lookup that refuses forbidden addresses (so a name cannot point the server at loopback or metadata). */
  readonly #guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, []);
      if (
        !this.core.options.notifications.allowLoopback &&
        addresses.some((a) => isForbiddenNotificationAddress(a.address))
      ) {
        const refused = Object.assign(new Error(`notificationURI host ${hostname} resolves to a forbidden address`), {
          code: 'GW_FORBIDDEN_ADDRESS',
        });
        return callback(refused, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };

  #checkIdle(): void {
    for (const queue of this.#queues.values()) if (queue.busy || !queue.parked) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /**
   * Flushes the queue: parked notifications get one more attempt now, and the promise resolves when every
   * notification was delivered, refused, or is parked again (tests and orderly shutdown).
   */
  drain(): Promise<void> {
    const promise = new Promise<void>((resolve) => this.#idle.push(resolve));
    for (const [subscriptionId, queue] of this.#queues) {
      if (queue.parked && !queue.busy && queue.timer !== undefined) {
        clearTimeout(queue.timer);
        queue.timer = undefined;
        this.#run(subscriptionId, queue);
      }
    }
    this.#checkIdle();
    return promise;
  }

  close(): void {
    this.#closed = true;
    for (const queue of this.#queues.values()) if (queue.timer !== undefined) clearTimeout(queue.timer);
    this.#queues.clear();
    this.#checkIdle();
    this.#httpsAgent.destroy();
    this.#httpAgent.destroy();
  }
}
