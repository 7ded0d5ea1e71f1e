/** What a panel shows while its data loads, when loading failed, and when there is nothing to show. */
import type { ReactNode } from 'react';
import type { Loaded } from '../api.ts';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" data-testid="loading" aria-busy="true">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorNote({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="state state-error" data-testid="error" role="alert">
      <strong>Could not load this.</strong> {error.message}
      {retry && (
        <button type="button" className="link-button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty">
      {children}
    </div>
  );
}

/**
 * Renders `children` with the data once it is there; loading and error states otherwise. `isEmpty` decides
 * when the data, though loaded, holds nothing worth drawing, and `empty` says what to do about it.
 */
export function Async<T>({
  loaded,
  children,
  isEmpty,
  empty,
}: {
  loaded: Loaded<T> & { reload?: () => void };
  children: (data: T) => ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
}) {
  if (loaded.status === 'loading') return <Loading />;
  if (loaded.status === 'error') return <ErrorNote error={loaded.error} retry={loaded.reload} />;
  if (isEmpty?.(loaded.data)) return <Empty>{empty ?? 'No data in this date range.'}</Empty>;
  return <>{children(loaded.data)}</>;
}
