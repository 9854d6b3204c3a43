/** What a panel shows while loading, when there is nothing to show, and when loading failed. */
import type { ComponentChildren } from 'preact';
import type { Loaded } from '../use-api';

export const Loading = () => (
  <div class="state" role="status" aria-live="polite">
    <span class="spinner" aria-hidden="true" /> Loading…
  </div>
);

export const Empty = ({ children }: { children: ComponentChildren }) => <div class="state empty">{children}</div>;

export const ErrorNote = ({ error, retry }: { error: Error; retry?: () => void }) => (
  <div class="state error" role="alert">
    <strong>Could not load this.</strong> {error.message}
    {retry && (
      <button type="button" class="link" onClick={retry}>
        Try again
      </button>
    )}
  </div>
);

/**
 * Renders `children(data)` once loaded. While a load is under way the panel is aria-busy; data
 * loaded for other inputs (another range, filter or page) stays in place, dimmed, until the new
 * answer replaces it.
 */
export function Async<T>({ state, children, empty }: { state: Loaded<T>; children: (data: T) => ComponentChildren; empty?: (data: T) => boolean }) {
  // One wrapper whatever the state, so a chart inside is updated in place rather than rebuilt.
  return (
    <div class={state.stale ? 'async stale' : 'async'} aria-busy={state.loading}>
      {state.data === undefined ? (
        state.error ? (
          <ErrorNote error={state.error} retry={state.reload} />
        ) : (
          <Loading />
        )
      ) : (
        <>
          {state.error && <ErrorNote error={state.error} retry={state.reload} />}
          {empty?.(state.data) ? <Empty>No calls in this window.</Empty> : children(state.data)}
        </>
      )}
    </div>
  );
}
