import { useState } from "preact/hooks";
import { Code, connectApi, errorText, isCode } from "../api";
import { ErrorLine } from "./common";

/** Asks for an API token and checks it with WhoAmI before keeping it for this tab. */
export function SignIn(props: { reason: string; onToken: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(props.reason);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError("Paste an API token.");
    setBusy(true);
    setError("");
    try {
      await connectApi(t).tokens.whoAmI({});
      props.onToken(t);
    } catch (err) {
      setError(isCode(err, Code.Unauthenticated) ? "That token is not valid." : errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="signin">
      <h1>Netclode</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          placeholder="ncp_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>{busy ? "Checking…" : "Sign in"}</button>
        <ErrorLine text={error} />
        <p class="hint">The token stays in this tab only. Make one with <code>netclode tokens create NAME</code>.</p>
      </form>
    </main>
  );
}
