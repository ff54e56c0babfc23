/**
 * Hash routes: `#/`, `#/devices?class=battery&site=s1`, `#/devices/ID`, `#/events`, `#/events/ID`,
 * `#/sites`, `#/dispatch`, `#/settlement`, `#/market`. The gateway serves one index.html, so nothing but the
 * fragment names a page.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Decoded path segments: [] for the overview, ['devices', 'bat-1'] for a device. */
  segments: string[];
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const [path = '', search = ''] = text.split('?', 2);
  const segments = path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  return { segments, query: new URLSearchParams(search) };
}

export function href(segments: string[], query?: Record<string, string | undefined>): string {
  const path = `#/${segments.map(encodeURIComponent).join('/')}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value) params.set(key, value);
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

/** The current route; re-renders on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** Changes the query of the current page without adding a history entry per keystroke. */
export function replaceQuery(segments: string[], query: Record<string, string | undefined>): void {
  window.history.replaceState(null, '', href(segments, query));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
