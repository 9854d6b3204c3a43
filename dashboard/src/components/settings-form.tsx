/** The parts every settings form shares (a tenant's, a key's): labelled fields, submitting, the error and the buttons. */
import { useState } from 'preact/hooks';

interface FieldProps {
  /** Unique on the page. */
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  required?: boolean;
  maxLength?: number;
  autocomplete?: 'off';
  inputMode?: 'numeric' | 'decimal';
  placeholder?: string;
}

/** A labelled text input. */
export function Field({ id, label, value, onValue, ...props }: FieldProps) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => onValue((e.target as HTMLInputElement).value)} {...props} />
    </div>
  );
}

/**
 * Submitting a form: `build` reads the fields (throwing what to fix), then `onSubmit` sends them.
 * The form is busy meanwhile, so a double click sends once.
 */
export function useSubmit<T>(build: () => T, onSubmit: (value: T) => Promise<void>) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const value = build();
      setBusy(true);
      await onSubmit(value);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return { submit, error, busy };
}

/** The error of the last submit, and the submit and cancel buttons. */
export function FormFooter({ error, busy, submitLabel, onCancel }: { error: string | null; busy: boolean; submitLabel: string; onCancel?: () => void }) {
  return (
    <>
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
    </>
  );
}
