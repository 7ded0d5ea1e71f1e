/**
 * The app shell: checks the session (or shows the sign-in page), then the navigation, the global date range
 * picker and the current page, each page loaded as its own chunk the first time it is opened.
 */
import {
  Component,
  type ComponentType,
  lazy,
  type ReactNode,
  Suspense,
  useCallback,
  useEffect,
  useState,
} from 'react';
import { ApiError, request, unauthorizedEvent } from './api.ts';
import { DateRangePicker } from './components/date-range-picker.tsx';
import { ErrorNote, Loading } from './components/states.tsx';
import type { PageProps } from './page-props.ts';
import { pages, signInPath } from './pages.ts';
import { rangeFromSearch, withRange } from './range.ts';
import { Link, navigate, useLocation } from './router.tsx';
import { SignIn } from './sign-in.tsx';

const pageComponents: Record<string, ComponentType<PageProps>> = {
  '/': lazy(() => import('./pages/overview.tsx')),
  '/trends': lazy(() => import('./pages/trends.tsx')),
  '/funnels': lazy(() => import('./pages/funnels.tsx')),
  '/retention': lazy(() => import('./pages/retention.tsx')),
  '/paths': lazy(() => import('./pages/paths.tsx')),
  '/revenue': lazy(() => import('./pages/revenue.tsx')),
  '/performance': lazy(() => import('./pages/performance.tsx')),
  '/ai': lazy(() => import('./pages/ai.tsx')),
  '/experiments': lazy(() => import('./pages/experiments.tsx')),
  '/users': lazy(() => import('./pages/users.tsx')),
};

interface Me {
  user: { id: string; username: string } | null;
  via: string;
}

type Session =
  | { status: 'checking' }
  | { status: 'signed-out' }
  | { status: 'unreachable'; error: Error }
  | { status: 'signed-in'; me: Me };

/** Where to go after signing in: a path of this site only, since `next` comes from the URL, which anyone can write. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith(signInPath) ? next : '/';
}

/** The page for a path: the longest page path it equals or lies under. */
function pageFor(pathname: string) {
  return (
    [...pages]
      .sort((a, b) => b.path.length - a.path.length)
      .find(
        (page) => pathname === page.path || pathname.startsWith(`${page.path === '/' ? '' : page.path}/`),
      ) ?? pages[0]!
  );
}

export function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session>({ status: 'checking' });

  const checkSession = useCallback(async () => {
    try {
      setSession({ status: 'signed-in', me: await request<Me>('/api/v1/auth/me') });
    } catch (error) {
      // Only a 401 means "sign in"; anything else (platform down, a bug) is shown as it is.
      setSession(
        error instanceof ApiError && error.status === 401
          ? { status: 'signed-out' }
          : { status: 'unreachable', error: error as Error },
      );
    }
  }, []);

  useEffect(() => {
    void checkSession();
    const signedOut = () => setSession({ status: 'signed-out' });
    window.addEventListener(unauthorizedEvent, signedOut);
    return () => window.removeEventListener(unauthorizedEvent, signedOut);
  }, [checkSession]);

  // Signed out on a page: go to the sign-in page, and come back after. Signed in there: go back.
  const next = location.search.get('next');
  useEffect(() => {
    if (session.status === 'signed-out' && location.pathname !== signInPath) {
      const here = window.location.pathname + window.location.search;
      navigate(`${signInPath}?next=${encodeURIComponent(here)}`, { replace: true });
    }
    if (session.status === 'signed-in' && location.pathname === signInPath) {
      navigate(safeNext(next), { replace: true });
    }
  }, [session.status, location.pathname, next]);

  if (session.status === 'checking') return <Loading label="Checking your session…" />;
  if (session.status === 'unreachable') return <ErrorNote error={session.error} retry={checkSession} />;
  if (session.status === 'signed-out') return <SignIn onSignedIn={checkSession} />;
  if (location.pathname === signInPath) return <Loading label="Signed in; opening the dashboard…" />;

  const page = pageFor(location.pathname);
  const Page = pageComponents[page.path]!;
  const range = rangeFromSearch(location.search);

  const signOut = async () => {
    await request('/api/v1/auth/logout', { method: 'POST' }).catch(() => undefined);
    setSession({ status: 'signed-out' });
  };

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Pages">
        <Link to={withRange('/', location.search)} className="brand">
          DeepRef
        </Link>
        <ul>
          {pages.map((p) => (
            <li key={p.path}>
              <Link
                to={withRange(p.path, location.search)}
                aria-current={p.path === page.path ? 'page' : undefined}
                data-testid={`nav-${p.path === '/' ? 'overview' : p.path.slice(1)}`}
              >
                {p.title}
              </Link>
            </li>
          ))}
        </ul>
        <div className="sidebar-footer">
          <span className="who">{session.me.user?.username ?? session.me.via}</span>
          <button type="button" className="link-button" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </nav>
      <main className="content">
        <header className="page-header">
          <h1>{page.title}</h1>
          <DateRangePicker range={range} />
        </header>
        <ErrorBoundary key={page.path}>
          <Suspense fallback={<Loading />}>
            <Page range={range} search={location.search} pathname={location.pathname} />
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}

/** A page that throws while rendering (or whose chunk fails to load) shows the error instead of a blank screen. */
class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    if (this.state.error)
      return <ErrorNote error={this.state.error} retry={() => window.location.reload()} />;
    return this.props.children;
  }
}
