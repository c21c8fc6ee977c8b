import { useMemo, useState } from "preact/hooks";
import { connectApi, forgetToken, savedToken, saveToken } from "../api";
import { useRoute } from "../router";
import { NewSession } from "./NewSession";
import { SessionList } from "./SessionList";
import { SessionView } from "./SessionView";
import { SignIn } from "./SignIn";

export function App() {
  const [token, setToken] = useState(savedToken);
  const [signedOutReason, setReason] = useState("");
  const route = useRoute();
  const api = useMemo(() => (token ? connectApi(token) : null), [token]);

  if (!api) {
    return (
      <SignIn
        reason={signedOutReason}
        onToken={(t) => {
          saveToken(t);
          setReason("");
          setToken(t);
        }}
      />
    );
  }
  const signOut = (reason = "") => {
    forgetToken();
    setReason(reason);
    setToken(null);
  };
  const ctx = { api, signOut };
  return (
    <div class="app">
      {route.name === "list" && <SessionList {...ctx} />}
      {route.name === "new" && <NewSession {...ctx} />}
      {route.name === "session" && <SessionView key={route.id} id={route.id} {...ctx} />}
    </div>
  );
}
