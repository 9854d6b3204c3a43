/** A headline number with its label and an optional comparison line. */
import type { ComponentChildren } from 'preact';

export function Stat({ label, value, note, tone }: { label: string; value: string; note?: ComponentChildren; tone?: 'good' | 'bad' }) {
  return (
    <div class={`stat${tone ? ` ${tone}` : ''}`} role="group" aria-label={label}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {note && <div class="stat-note">{note}</div>}
    </div>
  );
}

/** A share against a target, as a bar with the target marked. */
export function TargetBar({ value, target, label }: { value: number | null; target: number; label: string }) {
  const width = Math.max(0, Math.min(1, value ?? 0)) * 100;
  return (
    <div class="target-bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value === null ? undefined : Math.round(value * 100)}>
      <div class={`target-fill${value !== null && value >= target ? ' met' : ''}`} style={{ width: `${width}%` }} />
      <div class="target-mark" style={{ left: `${target * 100}%` }} title={`Target ${target * 100}%`} />
    </div>
  );
}
