/** A key's name, limits, budget and expiry (on top of its tenant's): for issuing a key and for changing one. */
import { useState } from 'preact/hooks';
import type { KeySettingsInput, KeySummary } from '../../../proxy/tenants/schemas';
import { localTimeInput, parseBudget, parseLimit, parseLocalTime } from '../settings-input';
import { Field, FormFooter, useSubmit } from './settings-form';

export function KeySettingsForm({
  existing,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  existing?: KeySummary;
  submitLabel: string;
  onSubmit: (settings: KeySettingsInput) => Promise<void>;
  onCancel: () => void;
}) {
  const [name, setName] = useState(existing?.name ?? '');
  const [rpm, setRpm] = useState(existing?.rpm?.toString() ?? '');
  const [tpm, setTpm] = useState(existing?.tpm?.toString() ?? '');
  const [budget, setBudget] = useState(existing?.monthly_budget_usd?.toString() ?? '');
  const [expires, setExpires] = useState(localTimeInput(existing?.expires_at ?? null));
  const id = existing ? `key-${existing.key_id}` : 'new-key';
  const { submit, error, busy } = useSubmit(
    () => ({
      name: name.trim() || null,
      rpm: parseLimit(rpm, 'Requests per minute'),
      tpm: parseLimit(tpm, 'Tokens per minute'),
      monthly_budget_usd: parseBudget(budget),
      expires_at: parseLocalTime(expires),
    }),
    onSubmit,
  );

  return (
    <form class="form-grid" onSubmit={submit} aria-label={existing ? `Settings of key ${existing.key_prefix}` : 'New key'}>
      <Field id={`${id}-name`} label="Key name" value={name} onValue={setName} maxLength={200} autocomplete="off" placeholder="none" />
      <Field id={`${id}-rpm`} label="Key requests per minute" value={rpm} onValue={setRpm} inputMode="numeric" placeholder="the tenant's only" />
      <Field id={`${id}-tpm`} label="Key tokens per minute" value={tpm} onValue={setTpm} inputMode="numeric" placeholder="the tenant's only" />
      <Field id={`${id}-budget`} label="Key monthly budget (USD)" value={budget} onValue={setBudget} inputMode="decimal" placeholder="the tenant's only" />
      <div class="field">
        <label for={`${id}-expires`}>Expires</label>
        <input id={`${id}-expires`} type="datetime-local" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />
      </div>
      <p class="muted small">A key's limits apply on top of its tenant's: a call must pass both. A past expiry stops the key now; empty, it never expires.</p>
      <FormFooter error={error} busy={busy} submitLabel={submitLabel} onCancel={onCancel} />
    </form>
  );
}
