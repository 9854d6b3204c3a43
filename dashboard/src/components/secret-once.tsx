/** A newly issued API key: shown once, with a copy button, and a reminder that it will not be shown again. */
import { useId, useState } from 'preact/hooks';

export function SecretOnce({ secret, onDone }: { secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  // Several can be on screen at once (keys issued one after another), each with its own label.
  const id = useId();
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      // Clipboard access can be refused (insecure origin, permissions): select it for a manual copy.
      (document.getElementById(id) as HTMLInputElement | null)?.select();
    }
  }
  return (
    <div class="secret" role="status">
      <p>
        <strong>Copy this API key now.</strong> It is stored only as a hash and will not be shown again.
      </p>
      <div class="secret-row">
        <label for={id} class="visually-hidden">
          New API key
        </label>
        <input id={id} class="mono" readOnly value={secret} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button type="button" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
