/**
 * The live feed: one WebSocket to /api/live. The first frame is `{"type":"auth","token"}`; the
 * server answers `hello` or closes 4401 (bad token) / 4403 (role). After a drop it reconnects with
 * exponential back-off (1 s doubling to 30 s, with jitter) and re-sends the auth and the current
 * subscription. Auth refusals do not retry: the token is wrong and retrying would not fix it.
 */
import type { LiveMessage } from './types.ts';

export type LiveStatus = 'connecting' | 'live' | 'offline' | 'refused';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
const AUTH_REFUSED = new Set([4401, 4403]);

type Listener = (message: LiveMessage) => void;

export class LiveFeed {
  readonly #token: string;
  readonly #listeners = new Set<Listener>();
  readonly #statusListeners = new Set<(status: LiveStatus) => void>();
  #socket: WebSocket | undefined;
  #status: LiveStatus = 'connecting';
  #retryMs = FIRST_RETRY_MS;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #deviceIds: string[] = [];
  #closed = false;

  constructor(token: string) {
    this.#token = token;
    this.#connect();
  }

  get status(): LiveStatus {
    return this.#status;
  }

  /** Receives every message; returns the unsubscribe function. */
  listen(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onStatus(listener: (status: LiveStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Telemetry for these devices only (an empty list: summary messages only). */
  subscribe(deviceIds: string[]): void {
    this.#deviceIds = [...deviceIds];
    this.#send({ type: 'subscribe', deviceIds: this.#deviceIds });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#socket?.close(1000, 'console closed');
  }

  #setStatus(status: LiveStatus): void {
    this.#status = status;
    for (const listener of this.#statusListeners) listener(status);
  }

  #send(message: unknown): void {
    if (this.#socket?.readyState === WebSocket.OPEN && this.#status === 'live')
      this.#socket.send(JSON.stringify(message));
  }

  #connect(): void {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${window.location.host}/api/live`);
    this.#socket = socket;
    this.#setStatus('connecting');
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'auth', token: this.#token })));
    socket.addEventListener('message', (frame) => this.#onFrame(frame));
    socket.addEventListener('close', (event) => this.#onClose(event));
  }

  #onFrame(frame: MessageEvent): void {
    if (typeof frame.data !== 'string') return;
    let message: LiveMessage;
    try {
      message = JSON.parse(frame.data) as LiveMessage;
    } catch {
      return;
    }
    if (message.type === 'hello') {
      this.#retryMs = FIRST_RETRY_MS;
      this.#setStatus('live');
      if (this.#deviceIds.length > 0) this.#send({ type: 'subscribe', deviceIds: this.#deviceIds });
    }
    for (const listener of this.#listeners) listener(message);
  }

  #onClose(event: CloseEvent): void {
    this.#socket = undefined;
    if (this.#closed) return;
    if (AUTH_REFUSED.has(event.code)) {
      this.#setStatus('refused');
      return;
    }
    this.#setStatus('offline');
    const delay = this.#retryMs * (0.8 + Math.random() * 0.4);
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}
