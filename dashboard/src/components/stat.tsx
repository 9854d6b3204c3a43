/** A headline number with its label and an optional comparison line. */
import type { ComponentChildren } from 'preact';
import type { Loaded } from '../use-api';
import { ErrorNote } from './states';

export function Stat({
  label,
  value,
  note,
  tone,
  busy,
  stale,
}: {
  label: string;
  value: string;
  note?: ComponentChildren;
  tone?: 'good' | 'bad';
  busy?: boolean;
  stale?: boolean;
}) {
  return (
    <div class={['stat', tone, stale && 'stale'].filter(Boolean).join(' ')} role="group" aria-label={label} aria-busy={busy}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {note && <div class="stat-note">{note}</div>}
    </div>
  );
}

/** A headline number of its own load: "…" while it comes, dimmed while stale, its error and a retry when it fails. */
export function LoadedStat<T>({
  label,
  state,
  value,
  note,
}: {
  label: string;
  state: Loaded<T>;
  value: (data: T) => string;
  note?: (data: T) => ComponentChildren;
}) {
  const { data, error } = state;
  return (
    <Stat
      label={label}
      value={data !== undefined ? value(data) : error ? '–' : '…'}
      note={error ? <ErrorNote error={error} retry={state.reload} /> : data !== undefined && note?.(data)}
      busy={state.loading}
      stale={state.stale}
    />
  );
}

/** A share against a target, as a bar with the target marked and named. */
export function TargetBar({ value, target, label }: { value: number | null; target: number; label: string }) {
  const width = Math.max(0, Math.min(1, value ?? 0)) * 100;
  return (
    <div
      class="target-bar"
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value === null ? undefined : Math.round(value * 100)}
    >
      <div class={`target-fill${value !== null && value >= target ? ' met' : ''}`} style={{ width: `${width}%` }} />
      <div class="target-mark" style={{ left: `${target * 100}%` }} />
      <div class="target-caption" style={{ left: `${target * 100}%` }}>
        Target {target * 100}%
      </div>
    </div>
  );
}
