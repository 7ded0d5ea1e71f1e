/**
 * `npx vite` in this folder: the dashboard with hot reload, its API calls proxied to a running platform
 * (DEEPREF_URL, default http://127.0.0.1:8080). Production builds go through src/build/build.ts.
 */
import { viteConfig } from './src/build/build.ts';

const platformUrl = process.env.DEEPREF_URL ?? 'http://127.0.0.1:8080';

export default {
  ...viteConfig(),
  server: { proxy: { '/api': platformUrl, '/example': platformUrl, '/sdk': platformUrl } },
};
