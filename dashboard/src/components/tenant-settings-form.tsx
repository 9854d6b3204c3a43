/** A tenant's name, limits, budget, routing and privacy settings: for creating a tenant and for changing one. */
import { useState } from 'preact/hooks';
import type { Tenant, TenantSettingsInput } from '../../../proxy/tenants/schemas';

/** '' means no limit; anything else must be a positive whole number. */
function parseLimit(text: string, what: string): number | null {
  if (text.trim() === '') return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${what} must be a whole number above 0, or empty for no limit.`);
  return value;
}

export function TenantSettingsForm({
  tenant,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  tenant?: Tenant;
  submitLabel: string;
  onSubmit: (settings: Partial<TenantSettingsInput>) => Promise<void>;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(tenant?.name ?? '');
  const [rpm, setRpm] = useState(tenant?.rpm?.toString() ?? '');
  const [tpm, setTpm] = useState(tenant?.tpm?.toString() ?? '');
  const [budget, setBudget] = useState(tenant?.monthly_budget_usd?.toString() ?? '');
  const [routing, setRouting] = useState<'auto' | 'passthrough'>(tenant?.routing ?? 'passthrough');
  const [storeContent, setStoreContent] = useState(tenant?.store_content ?? false);
  const [isolatePromptCache, setIsolatePromptCache] = useState(tenant?.prompt_cache === 'isolated');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = tenant ? `edit-${tenant.id}` : 'new';

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const monthly = budget.trim() === '' ? null : Number(budget);
      if (monthly !== null && (!Number.isFinite(monthly) || monthly < 0)) throw new Error('The monthly budget must be an amount in USD, or empty for none.');
      const settings = {
        name: name.trim(),
        rpm: parseLimit(rpm, 'Requests per minute'),
        tpm: parseLimit(tpm, 'Tokens per minute'),
        monthly_budget_usd: monthly,
        routing,
        store_content: storeContent,
        prompt_cache: isolatePromptCache ? ('isolated' as const) : ('shared' as const),
      };
      setBusy(true);
      await onSubmit(settings);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const field = (key: string, label: string, value: string, set: (v: string) => void, props: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`${id}-${key}`}>{label}</label>
      <input id={`${id}-${key}`} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} {...props} />
    </div>
  );

  return (
    <form class="form-grid" onSubmit={submit}>
      {field('name', 'Name', name, setName, { required: true, maxLength: 200, autocomplete: 'off' })}
      {field('rpm', 'Requests per minute', rpm, setRpm, { inputMode: 'numeric', placeholder: 'unlimited' })}
      {field('tpm', 'Tokens per minute', tpm, setTpm, { inputMode: 'numeric', placeholder: 'unlimited' })}
      {field('budget', 'Monthly budget (USD)', budget, setBudget, { inputMode: 'decimal', placeholder: 'none' })}
      <div class="field">
        <label for={`${id}-routing`}>Routing</label>
        <select id={`${id}-routing`} value={routing} onChange={(e) => setRouting((e.target as HTMLSelectElement).value as 'auto' | 'passthrough')}>
          <option value="passthrough">passthrough: use the model asked for</option>
          <option value="auto">auto: route by task, asked model as ceiling</option>
        </select>
      </div>
      <div class="field checkbox">
        <label>
          <input id={`${id}-store-content`} type="checkbox" checked={storeContent} onChange={(e) => setStoreContent((e.target as HTMLInputElement).checked)} />{' '}
          Store prompts and answers
        </label>
        <span class="muted small">Kept beside each call for as long as the request log keeps it, and shown there. Off, no prompt or answer is kept.</span>
      </div>
      <div class="field checkbox">
        <label>
          <input
            id={`${id}-isolate-prompt-cache`}
            type="checkbox"
            checked={isolatePromptCache}
            onChange={(e) => setIsolatePromptCache((e.target as HTMLInputElement).checked)}
          />{' '}
          Isolate its prompt cache
        </label>
        <span class="muted small">
          Its prompts begin with a salt of its own (about 20 tokens a call), so no other tenant can tell from its cached tokens what this one sent. Off, the
          providers' prompt caches are shared by all tenants: the cheapest.
        </span>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
