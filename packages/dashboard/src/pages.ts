/**
 * The dashboard's pages by path. The platform answers each of these paths (and any path below one, such as
 * `/experiments/pricing-test`) with `index.html`, so that a reload or a shared link opens the same page.
 */
export interface PageInfo {
  path: string;
  title: string;
}

export const pages: readonly PageInfo[] = [
  { path: '/', title: 'Overview' },
  { path: '/trends', title: 'Trends' },
  { path: '/funnels', title: 'Funnels' },
  { path: '/retention', title: 'Retention' },
  { path: '/paths', title: 'Paths' },
  { path: '/revenue', title: 'Revenue' },
  { path: '/performance', title: 'Performance' },
  { path: '/ai', title: 'AI' },
  { path: '/experiments', title: 'Experiments' },
  { path: '/users', title: 'Users' },
];

export const signInPath = '/sign-in';

/** Every path the single-page app answers, sign-in included. */
export const clientPaths: readonly string[] = [...pages.map((page) => page.path), signInPath];
