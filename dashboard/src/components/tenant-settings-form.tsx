/** A tenant's name, limits, budget, routing, privacy, shadow-evaluation and alert settings: for creating a tenant and for changing one. */
import { useState } from 'preact/hooks';
import type { ShadowEvalKind, Tenant, TenantSettingsInput } from '../../../proxy/tenants/schemas';
import { alertThresholdsText, evalRateText, parseAlertThresholds, parseBudget, parseEvalRate, parseLimit } from '../settings-input';
import { Field, FormFooter, useSubmit } from './settings-form';

/** The kinds of call shadow evaluation leaves out unless the tenant includes them, as the form names them (docs/ROUTING.md#shadow-evaluation). */
export const EVAL_KINDS: Record<ShadowEvalKind, string> = {
  tools: 'Tools offered or tool results',
  images: 'Images',
  unstored: 'Sent with store: false',
};

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
  const [webhook, setWebhook] = useState(tenant?.alert_webhook_url ?? '');
  const [thresholds, setThresholds] = useState(alertThresholdsText(tenant?.alert_thresholds ?? null));
  const [evalRate, setEvalRate] = useState(evalRateText(tenant?.shadow_eval_rate ?? 0));
  const [evalInclude, setEvalInclude] = useState<ShadowEvalKind[]>(tenant?.shadow_eval_include ?? []);
  const includeKind = (kind: ShadowEvalKind, included: boolean) =>
    setEvalInclude((kinds) => (Object.keys(EVAL_KINDS) as ShadowEvalKind[]).filter((k) => (k === kind ? included : kinds.includes(k))));
  const id = tenant ? `edit-${tenant.id}` : 'new';
  const { submit, error, busy } = useSubmit(
    () => ({
      name: name.trim(),
      rpm: parseLimit(rpm, 'Requests per minute'),
      tpm: parseLimit(tpm, 'Tokens per minute'),
      monthly_budget_usd: parseBudget(budget),
      routing,
      store_content: storeContent,
      prompt_cache: isolatePromptCache ? ('isolated' as const) : ('shared' as const),
      alert_webhook_url: webhook.trim() || null,
      alert_thresholds: parseAlertThresholds(thresholds),
      shadow_eval_rate: parseEvalRate(evalRate),
      shadow_eval_include: evalInclude,
    }),
    onSubmit,
  );

  return (
    <form class="form-grid" onSubmit={submit}>
      <Field id={`${id}-name`} label="Name" value={name} onValue={setName} required maxLength={200} autocomplete="off" />
      <Field id={`${id}-rpm`} label="Requests per minute" value={rpm} onValue={setRpm} inputMode="numeric" placeholder="unlimited" />
      <Field id={`${id}-tpm`} label="Tokens per minute" value={tpm} onValue={setTpm} inputMode="numeric" placeholder="unlimited" />
      <Field id={`${id}-budget`} label="Monthly budget (USD)" value={budget} onValue={setBudget} inputMode="decimal" placeholder="none" />
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
      <Field
        id={`${id}-eval-rate`}
        label="Shadow evaluation (% of calls)"
        value={evalRate}
        onValue={setEvalRate}
        inputMode="decimal"
        placeholder="none, e.g. 5"
      />
      <fieldset class="field checkbox">
        <legend>Shadow evaluation may also sample calls with</legend>
        {(Object.entries(EVAL_KINDS) as Array<[ShadowEvalKind, string]>).map(([kind, label]) => (
          <label key={kind}>
            <input
              id={`${id}-eval-${kind}`}
              type="checkbox"
              checked={evalInclude.includes(kind)}
              onChange={(e) => includeKind(kind, (e.target as HTMLInputElement).checked)}
            />{' '}
            {label}
          </label>
        ))}
        <span class="muted small">
          A sampled call is sent again to the other tier's model and to the judge, perhaps of another provider. Calls sent with store: false are sampled only if
          the operator also sets EVAL_ALLOW_UNSTORED=true.
        </span>
      </fieldset>
      <Field
        id={`${id}-alert-webhook`}
        label="Alert webhook URL"
        value={webhook}
        onValue={setWebhook}
        autocomplete="off"
        placeholder="none, e.g. https://hooks.slack.com/services/…"
      />
      <Field
        id={`${id}-alert-thresholds`}
        label="Alert thresholds (% of budget)"
        value={thresholds}
        onValue={setThresholds}
        placeholder="default: 50, 80, 100"
      />
      <FormFooter error={error} busy={busy} submitLabel={submitLabel} onCancel={onCancel} />
    </form>
  );
}
