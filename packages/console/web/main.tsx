/**
 * The operator console: signs in with a bearer token (from `#token=` or the form), asks
 * GET /api/session for the role, opens the live feed and renders the page the hash names.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  type ApiError,
  forgetToken,
  get,
  getWithToken,
  setUnauthorizedHandler,
  storedToken,
  storeToken,
  takeTokenFromFragment,
} from './api.ts';
import { ConnectionIndicator, ErrorBox } from './components.tsx';
import { App, useLiveStatus } from './hooks.ts';
import { LiveFeed } from './live.ts';
import { DeviceDetail } from './pages/device.tsx';
import { Devices } from './pages/devices.tsx';
import { Dispatch } from './pages/dispatch.tsx';
import { EventDetail } from './pages/event.tsx';
import { Events } from './pages/events.tsx';
import { Market } from './pages/market.tsx';
import { Overview } from './pages/overview.tsx';
import { Settlement } from './pages/settlement.tsx';
import { Sites } from './pages/sites.tsx';
import { href, type Route, useRoute } from './router.ts';
import type { Session } from './types.ts';

function Page({ route }: { route: Route }) {
  const [section, id] = route.segments;
  if (section === undefined) return <Overview />;
  if (section === 'devices') return id === undefined ? <Devices route={route} /> : <DeviceDetail key={id} id={id} />;
  if (section === 'events') return id === undefined ? <Events /> : <EventDetail key={id} id={id} />;
  if (section === 'sites') return <Sites route={route} />;
  if (section === 'dispatch') return <Dispatch />;
  if (section === 'settlement') return <Settlement />;
  if (section === 'market') return <Market />;
  return (
    <div class="page">
      <h1>Not found</h1>
      <p>
        No page at <code>#/{route.segments.join('/')}</code>. <a href="#/">Back to the overview</a>.
      </p>
    </div>
  );
}

const NAV: Array<{ section: string | undefined; label: string }> = [
  { section: undefined, label: 'Overview' },
  { section: 'devices', label: 'Devices' },
  { section: 'events', label: 'Events' },
  { section: 'sites', label: 'Sites & groups' },
  { section: 'dispatch', label: 'Dispatch' },
  { section: 'settlement', label: 'Settlement' },
  { section: 'market', label: 'Market' },
];

function Shell({ session, token, onSignOut }: { session: Session; token: string; onSignOut: () => void }) {
  const live = useMemo(() => new LiveFeed(token), [token]);
  useEffect(() => () => live.close(), [live]);
  const status = useLiveStatus(live);
  const route = useRoute();
  const current = route.segments[0];
  return (
    <App.Provider value={{ session, live }}>
      <header class="top">
        <a class="brand" href="#/">
          Gridseam
        </a>
        <nav>
          {NAV.map((item) => (
            <a
              key={item.label}
              href={href(item.section ? [item.section] : [])}
              class={item.section === current ? 'current' : ''}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <ConnectionIndicator status={status} />
        <span class="who" data-testid="session-role" data-role={session.role}>
          {session.name} · {session.role}
        </span>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        <Page route={route} />
      </main>
    </App.Provider>
  );
}

function SignIn({
  onSignedIn,
  problem,
}: {
  onSignedIn: (token: string, session: Session) => void;
  problem?: ApiError;
}) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError | undefined>(problem);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      onSignedIn(token.trim(), await getWithToken<Session>('/api/session', token.trim()));
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <form onSubmit={submit} data-testid="signin-form">
        <h1>Gridseam console</h1>
        <p class="muted">Sign in with an API token (viewer, operator or admin).</p>
        <label>
          Token
          <input
            type="password"
            autocomplete="off"
            required
            data-testid="signin-token"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        <ErrorBox error={error} />
      </form>
    </div>
  );
}

type State =
  | { kind: 'checking' }
  | { kind: 'signed-out'; problem?: ApiError }
  | { kind: 'signed-in'; token: string; session: Session };

function Root() {
  const [state, setState] = useState<State>(() => (storedToken() ? { kind: 'checking' } : { kind: 'signed-out' }));
  useEffect(() => {
    setUnauthorizedHandler(() => {
      forgetToken();
      setState({ kind: 'signed-out' });
    });
    const token = storedToken();
    if (token === undefined) return;
    get<Session>('/api/session')
      .then((session) => setState({ kind: 'signed-in', token, session }))
      .catch((problem: ApiError) => setState({ kind: 'signed-out', problem }));
  }, []);
  if (state.kind === 'checking') return <p class="muted page">Signing in…</p>;
  if (state.kind === 'signed-out')
    return (
      <SignIn
        problem={state.problem}
        onSignedIn={(token, session) => {
          storeToken(token);
          setState({ kind: 'signed-in', token, session });
        }}
      />
    );
  return (
    <Shell
      session={state.session}
      token={state.token}
      onSignOut={() => {
        forgetToken();
        setState({ kind: 'signed-out' });
      }}
    />
  );
}

takeTokenFromFragment();
const mount = document.getElementById('app');
if (mount !== null) render(<Root />, mount);
