/** The sign-in page: username and password for a session cookie; where to find the first password. */
import { type FormEvent, useState } from 'react';
import { ApiError, request } from './api.ts';

/** Signs in, then lets the shell check the session again (which leaves this page). */
export function SignIn({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await request('/api/v1/auth/login', {
        method: 'POST',
        body: { username: String(form.get('username')), password: String(form.get('password')) },
      });
      await onSignedIn();
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.code === 'DEEPREF_LOGIN_FAILED'
          ? 'Wrong username or password.'
          : (caught as Error).message,
      );
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form onSubmit={submit} className="sign-in-form" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to DeepRef</h1>
        <label>
          Username
          <input name="username" autoComplete="username" defaultValue="admin" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error && (
          <p className="state state-error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          The first start of <code>deepref start</code> printed the <code>admin</code> password once. Lost it?
          Run <code>npx deepref admin reset-password</code>.
        </p>
      </form>
    </main>
  );
}
