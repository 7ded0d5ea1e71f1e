/**
 * The dashboard's calls to the platform's API (same origin, session cookie). A 401 anywhere sends the user to
 * the sign-in page; any other failure becomes an `ApiError` carrying the API's own message, which says what to do.
 */
import { useCallback, useEffect, useState } from 'react';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Params = Record<string, string | number | boolean | undefined | null>;

/** Fired on `window` when the session is missing or expired. */
export const unauthorizedEvent = 'deepref:unauthorized';

function apiUrl(path: string, params: Params = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const query = search.toString();
  return query ? `${path}?${query}` : path;
}

export async function request<T>(
  path: string,
  options: { params?: Params; method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.params), {
      method: options.method ?? 'GET',
      credentials: 'same-origin',
      headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'The platform did not answer. Is `deepref start` still running?');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (response.status === 401 && !path.endsWith('/auth/login')) {
      window.dispatchEvent(new Event(unauthorizedEvent));
    }
    throw new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `The platform answered ${response.status} ${response.statusText} for ${path}.`,
    );
  }
  return body as T;
}

export type Loaded<T> =
  | { status: 'loading'; data?: undefined; error?: undefined }
  | { status: 'error'; data?: undefined; error: Error }
  | { status: 'ready'; data: T; error?: undefined };

/**
 * GETs `path` with `params` whenever they change (the last answer wins), and again every `refreshMs` when given,
 * keeping the previous figures on screen while a refresh is under way. `path` null means: nothing to load yet.
 */
export function useApi<T>(
  path: string | null,
  params: Params = {},
  refreshMs?: number,
): Loaded<T> & { reload: () => void } {
  const [state, setState] = useState<Loaded<T>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  const key = path === null ? null : apiUrl(path, params);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new generation (reload()) loads again
  useEffect(() => {
    if (key === null) return;
    let controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    setState({ status: 'loading' });
    const load = async () => {
      try {
        const data = await request<T>(key, { signal: controller.signal });
        if (!stopped) setState({ status: 'ready', data });
      } catch (error) {
        if (stopped || (error as Error).name === 'AbortError') return;
        setState((previous) =>
          // A failed refresh keeps the figures already shown; a failed first load shows the error.
          refreshMs && previous.status === 'ready' ? previous : { status: 'error', error: error as Error },
        );
      }
      if (refreshMs && !stopped) {
        timer = setTimeout(() => {
          controller = new AbortController();
          void load();
        }, refreshMs);
      }
    };
    void load();
    return () => {
      stopped = true;
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, refreshMs, generation]);

  return { ...state, reload };
}
