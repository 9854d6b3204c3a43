/** Sign in with the admin token; it is checked against the API before it is kept. */
import { useState } from 'preact/hooks';
import { api, ApiError, session } from '../api';

export function SignInPage({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.verify(token.trim());
      session.signIn(token.trim());
      onSignedIn();
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'That token is not the admin token.' : (e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="sign-in">
      <form class="card" onSubmit={submit}>
        <h1>AI cost proxy</h1>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <p>
          Sign in with the proxy's admin token (<code>ADMIN_TOKEN</code>). It is kept for this browser tab only.
        </p>
        <label for="admin-token">Admin token</label>
        <input
          id="admin-token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
