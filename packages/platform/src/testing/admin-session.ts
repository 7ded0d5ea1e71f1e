/** Test support: a session as the admin, signed in with the password the platform announced on its first start. */

/** Signs in as the admin with the password in `announced` (the platform's message); the session cookie. */
export async function signIn(url: string, announced: string): Promise<string> {
  const password = /password: (\S+)/.exec(announced)?.[1];
  if (password === undefined) throw new Error(`No admin password in the announcement: ${announced}`);
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  if (login.status !== 200) throw new Error(`Admin sign-in answered ${login.status}: ${await login.text()}`);
  return (login.headers.get('set-cookie') ?? '').split(';')[0]!;
}
