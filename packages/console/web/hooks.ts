import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import type { LiveFeed, LiveStatus } from './live.ts';
import type { LiveMessage, Session } from './types.ts';

export interface AppContext {
  session: Session;
  live: LiveFeed;
}

export const App = createContext<AppContext | undefined>(undefined);

export function useApp(): AppContext {
  const app = useContext(App);
  if (app === undefined) throw new Error('useApp outside the signed-in app');
  return app;
}

export function canOperate(session: Session): boolean {
  return session.role === 'operator' || session.role === 'admin';
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  /** Replaces the data locally (a live update) without a request. */
  update: (change: (current: T | undefined) => T | undefined) => void;
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, { code: 'GW_ERR_CONSOLE', message: error instanceof Error ? error.message : String(error) });
}

/** Loads with `load` whenever `key` changes; answers that arrive after a newer request are dropped. */
export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  // Runs when the key changes or reload() is called; `loader.current` is this render's closure.
  useEffect(() => {
    const ticket = ++latest.current;
    setLoading(true);
    loader
      .current()
      .then((value) => {
        if (ticket !== latest.current) return;
        setData(value);
        setError(undefined);
      })
      .catch((failure: unknown) => {
        if (ticket === latest.current) setError(asApiError(failure));
      })
      .finally(() => {
        if (ticket === latest.current) setLoading(false);
      });
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  const update = useCallback((change: (current: T | undefined) => T | undefined) => setData(change), []);
  return { data, error, loading, reload, update };
}

/** Calls `handler` for every live message while the component is mounted. */
export function useLive(handler: (message: LiveMessage) => void): void {
  const { live } = useApp();
  const current = useRef(handler);
  current.current = handler;
  useEffect(() => live.listen((message) => current.current(message)), [live]);
}

export function useLiveStatus(live: LiveFeed): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>(live.status);
  useEffect(() => {
    setStatus(live.status);
    return live.onStatus(setStatus);
  }, [live]);
  return status;
}

/** The current time, refreshed every `everyMs` (relative times, the timeline's now line). */
export function useNow(everyMs = 15_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/**
 * Reloads a view of the dispatch plan: after a live `event` message of the program (each plan
 * writes its batteries' events; the plan is stored just after them, hence the delay), at most
 * once per `delayMs`, optionally only for events that target `deviceId`; and every `everyMs`
 * (a failed plan writes no event).
 */
export function useReloadOnPlan(
  programId: string | undefined,
  reload: () => void,
  options: { deviceId?: string; delayMs?: number; everyMs?: number } = {},
): void {
  const { deviceId, delayMs = 1500, everyMs = 30_000 } = options;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLive((message) => {
    if (message.type !== 'event' || programId === undefined || message.event.programId !== programId) return;
    if (deviceId !== undefined && !(message.event.targets.deviceIds ?? []).includes(deviceId)) return;
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      reload();
    }, delayMs);
  });
  useEffect(() => {
    const every = setInterval(reload, everyMs);
    return () => {
      clearInterval(every);
      if (timer.current !== undefined) clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [reload, everyMs]);
}
