/**
 * Webhook delivery (Definition §Subscriptions, §Security/Webhooks). The VTN POSTs a `notification` JSON to a
 * subscription's callbackUrl, with `Authorization: Bearer {bearerToken}` when the subscription set one.
 *
 * - Callback URLs: https only unless allowed; never redirected; loopback, link-local (incl. 169.254.169.254
 *   metadata), unspecified, multicast, cloud-metadata and (unless allowed) private addresses are refused,
 *   for literal IPs at once and for host names after DNS resolution (SSRF).
 * - Before a subscription is created or its callback changes, `GET callbackUrl?echo=<random>` must answer 200
 *   with that value as its body (the echo challenge, a MUST of §Webhooks).
 * - Per callback, notifications leave in order; a full queue drops its oldest. Network errors, timeouts, 408,
 *   429 and 5xx are retried with exponential back-off up to `attempts`; other answers give up. At most
 *   `maxConcurrent` requests are in flight. The queues live in memory: pending notifications do not survive
 *   a restart (the VEN's polling is the safety net).
 */
import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { GridseamError } from '@gridseam/model';
import type { VtnLog, VtnWebhookOptions, VtnWebhookStats } from './contract.ts';

const forbidden = new BlockList();
forbidden.addSubnet('0.0.0.0', 8, 'ipv4');
forbidden.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 metadata
forbidden.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
forbidden.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
forbidden.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
forbidden.addAddress('::', 'ipv6');
forbidden.addSubnet('fe80::', 10, 'ipv6');
forbidden.addSubnet('ff00::', 8, 'ipv6');
forbidden.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const privateNetworks = new BlockList();
privateNetworks.addSubnet('10.0.0.0', 8, 'ipv4');
privateNetworks.addSubnet('172.16.0.0', 12, 'ipv4');
privateNetworks.addSubnet('192.168.0.0', 16, 'ipv4');
privateNetworks.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
privateNetworks.addSubnet('fc00::', 7, 'ipv6');

/** Longest answer body read from a callback (the echo challenge needs a few bytes). */
const MAX_ANSWER_BYTES = 4096;

export interface ResolvedWebhookOptions {
  allowLoopback: boolean;
  allowPrivateNetworks: boolean;
  allowHttp: boolean;
  verifyCallbacks: boolean;
  timeoutMs: number;
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxQueuePerCallback: number;
  maxConcurrent: number;
  ca: Array<string | Buffer>;
  rejectUnauthorized: boolean;
}

export function resolveWebhookOptions(options: VtnWebhookOptions = {}): ResolvedWebhookOptions {
  const ca = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  return {
    allowLoopback: options.allowLoopback ?? false,
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    allowHttp: options.allowHttp ?? false,
    verifyCallbacks: options.verifyCallbacks ?? true,
    timeoutMs: options.timeoutMs ?? 10_000,
    attempts: Math.max(1, options.attempts ?? 5),
    initialDelayMs: options.initialDelayMs ?? 1000,
    maxDelayMs: options.maxDelayMs ?? 60_000,
    maxQueuePerCallback: Math.max(1, options.maxQueuePerCallback ?? 100),
    maxConcurrent: Math.max(1, options.maxConcurrent ?? 32),
    ca,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
  };
}

/** Why an address may not receive callbacks, or undefined when it may. */
export function refusedAddressReason(
  address: string,
  options: Pick<ResolvedWebhookOptions, 'allowLoopback' | 'allowPrivateNetworks'>,
): string | undefined {
  let family = isIP(address);
  if (family === 0) return undefined;
  let ip = address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) {
    ip = mapped[1];
    family = 4;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (forbidden.check(ip, type)) return `${address} is a link-local, metadata, multicast or unspecified address`;
  if (loopback.check(ip, type) && !options.allowLoopback) return `${address} is a loopback address`;
  if (privateNetworks.check(ip, type) && !options.allowPrivateNetworks) return `${address} is a private address`;
  return undefined;
}

function validationError(detail: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', detail, {
    issues: [{ path: '/objectOperations/callbackUrl', message: detail }],
  });
}

interface Delivery {
  body: string;
  bearerToken: string | undefined;
  attempt: number;
}

interface CallbackQueue {
  key: string;
  subscriptionId: string;
  url: URL;
  pending: Delivery[];
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface Answer {
  status: number;
  body: string;
}

export class WebhookSender {
  readonly #options: ResolvedWebhookOptions;
  readonly #log: VtnLog;
  readonly #queues = new Map<string, CallbackQueue>();
  readonly #ready: CallbackQueue[] = [];
  readonly #idle: Array<() => void> = [];
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;
  readonly #lookup: LookupFunction;
  #inFlight = 0;
  #closed = false;
  readonly #stats = { delivered: 0, failed: 0, retried: 0, dropped: 0 };

  constructor(options: ResolvedWebhookOptions, log: VtnLog) {
    this.#options = options;
    this.#log = log;
    this.#lookup = (hostname, lookupOptions, callback) => {
      dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, '', 4);
        for (const entry of addresses) {
          const reason = refusedAddressReason(entry.address, this.#options);
          if (reason !== undefined)
            return callback(
              Object.assign(new Error(`callback host ${hostname} resolves to ${reason}`), { code: 'EREFUSED_ADDRESS' }),
              '',
              4,
            );
        }
        if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        const first = addresses[0];
        if (first === undefined) return callback(new Error(`${hostname} has no address`), '', 4);
        callback(null, first.address, first.family);
      });
    };
    this.#httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
    this.#httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 4,
      ca: [...rootCertificates, ...options.ca],
      rejectUnauthorized: options.rejectUnauthorized,
    });
  }

  /** Checks a callback URL's form and literal address; throws GW_ERR_VALIDATION. */
  checkUrl(value: string): URL {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw validationError(`callbackUrl ${JSON.stringify(value.slice(0, 200))} is not an absolute URL`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.#options.allowHttp))
      throw validationError('callbackUrl must use https (Definition §Webhooks)');
    if (url.username !== '' || url.password !== '') throw validationError('callbackUrl must not carry credentials');
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const reason = refusedAddressReason(host, this.#options);
    if (reason !== undefined) throw validationError(`callbackUrl refused: ${reason}`);
    if (!this.#options.allowLoopback && /^localhost\.?$/i.test(host))
      throw validationError('callbackUrl refused: localhost is a loopback address');
    return url;
  }

  /**
   * The echo challenge (Definition §Webhooks): GET callbackUrl?echo=<random> must answer 200 with the value
   * in its body. Throws GW_ERR_VALIDATION when it does not.
   */
  async verify(value: string): Promise<void> {
    const url = this.checkUrl(value);
    if (!this.#options.verifyCallbacks) return;
    const echo = randomBytes(18).toString('base64url');
    const challenge = new URL(url);
    challenge.searchParams.append('echo', echo);
    let answer: Answer;
    try {
      answer = await this.#send(challenge, 'GET', undefined, undefined);
    } catch (error) {
      throw validationError(`callbackUrl did not answer the echo challenge: ${describe(error)}`);
    }
    if (answer.status !== 200)
      throw validationError(`callbackUrl answered the echo challenge with HTTP ${answer.status}, not 200`);
    const body = answer.body.trim();
    let echoed = body;
    if (body.startsWith('"')) {
      try {
        echoed = String(JSON.parse(body));
      } catch {
        echoed = body;
      }
    }
    if (echoed !== echo) throw validationError('callbackUrl did not echo the challenge value');
  }

  /** Queues a notification for one subscription's callback. */
  enqueue(subscriptionId: string, callbackUrl: string, bearerToken: string | undefined, body: string): void {
    if (this.#closed) return;
    let url: URL;
    try {
      url = this.checkUrl(callbackUrl);
    } catch (error) {
      this.#stats.failed += 1;
      this.#log('warn', 'a webhook notification was not sent: the callback URL is refused', {
        subscription: subscriptionId,
        reason: describe(error),
      });
      return;
    }
    const key = `${subscriptionId} ${callbackUrl}`;
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { key, subscriptionId, url, pending: [], busy: false, timer: undefined };
      this.#queues.set(key, queue);
    }
    if (queue.pending.length >= this.#options.maxQueuePerCallback) {
      queue.pending.splice(queue.busy ? 1 : 0, 1);
      this.#stats.dropped += 1;
      this.#log('warn', 'a webhook queue is full: the oldest notification was dropped', {
        subscription: subscriptionId,
      });
    }
    queue.pending.push({ body, bearerToken, attempt: 0 });
    this.#schedule(queue);
  }

  /** Forgets what is waiting for a deleted subscription. */
  forget(subscriptionId: string): void {
    for (const [key, queue] of this.#queues) {
      if (queue.subscriptionId !== subscriptionId) continue;
      if (queue.timer !== undefined) clearTimeout(queue.timer);
      queue.timer = undefined;
      queue.pending.splice(queue.busy ? 1 : 0);
      if (!queue.busy) this.#queues.delete(key);
    }
    this.#checkIdle();
  }

  stats(): VtnWebhookStats {
    let pending = 0;
    for (const queue of this.#queues.values()) pending += queue.pending.length;
    return { ...this.#stats, pending };
  }

  drain(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  close(): void {
    this.#closed = true;
    for (const queue of this.#queues.values()) if (queue.timer !== undefined) clearTimeout(queue.timer);
    this.#queues.clear();
    this.#ready.length = 0;
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#checkIdle();
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && [...this.#queues.values()].every((queue) => queue.pending.length === 0);
  }

  #checkIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #schedule(queue: CallbackQueue): void {
    if (queue.busy || queue.timer !== undefined || queue.pending.length === 0) return;
    if (this.#inFlight >= this.#options.maxConcurrent) {
      if (!this.#ready.includes(queue)) this.#ready.push(queue);
      return;
    }
    void this.#run(queue);
  }

  async #run(queue: CallbackQueue): Promise<void> {
    const delivery = queue.pending[0];
    if (delivery === undefined) return;
    queue.busy = true;
    this.#inFlight += 1;
    let outcome: 'done' | 'retry' | 'give-up';
    let reason = '';
    try {
      const answer = await this.#send(queue.url, 'POST', delivery.body, delivery.bearerToken);
      if (answer.status >= 200 && answer.status < 300) outcome = 'done';
      else {
        reason = `HTTP ${answer.status}`;
        outcome = answer.status === 408 || answer.status === 429 || answer.status >= 500 ? 'retry' : 'give-up';
      }
    } catch (error) {
      reason = describe(error);
      outcome = (error as { code?: string }).code === 'EREFUSED_ADDRESS' ? 'give-up' : 'retry';
    }
    this.#inFlight -= 1;
    queue.busy = false;
    if (this.#closed) return;
    delivery.attempt += 1;
    if (outcome === 'retry' && delivery.attempt >= this.#options.attempts) outcome = 'give-up';
    if (outcome === 'done') {
      this.#stats.delivered += 1;
      queue.pending.shift();
    } else if (outcome === 'give-up') {
      this.#stats.failed += 1;
      queue.pending.shift();
      this.#log('warn', 'a webhook notification could not be delivered', {
        subscription: queue.subscriptionId,
        callback: queue.url.origin,
        attempts: delivery.attempt,
        reason,
      });
    } else {
      this.#stats.retried += 1;
      const delay = Math.min(this.#options.maxDelayMs, this.#options.initialDelayMs * 2 ** (delivery.attempt - 1));
      // Up to 10% jitter, so many failing callbacks do not retry in lockstep.
      const jittered = Math.round(delay * (1 + Math.random() * 0.1));
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        this.#schedule(queue);
      }, jittered);
      queue.timer.unref();
    }
    if (queue.pending.length === 0 && queue.timer === undefined) this.#queues.delete(queue.key);
    else if (queue.timer === undefined) this.#schedule(queue);
    while (this.#inFlight < this.#options.maxConcurrent) {
      const next = this.#ready.shift();
      if (next === undefined) break;
      this.#schedule(next);
    }
    this.#checkIdle();
  }

  #send(url: URL, method: 'GET' | 'POST', body: string | undefined, bearerToken: string | undefined): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json, text/plain' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      if (bearerToken !== undefined && bearerToken !== '') headers.authorization = `Bearer ${bearerToken}`;
      const secure = url.protocol === 'https:';
      const options = {
        method,
        headers,
        lookup: this.#lookup,
        agent: secure ? this.#httpsAgent : this.#httpAgent,
        timeout: this.#options.timeoutMs,
      };
      const onResponse = (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      };
      const request = secure ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}

function describe(error: unknown): string {
  if (GridseamError.is(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}
