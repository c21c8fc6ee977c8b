import { useEffect, useState } from "preact/hooks";
import { RepoAccess, SdkType, type ModelInfo } from "../gen/netclode/v1/common_pb";
import { navigate } from "../router";
import { ErrorLine, Header, useAction, type Ctx } from "./common";

/** The new-session form; models come from ListModels for the chosen SDK. Models whose
 * provider has no key on this server are shown but cannot be picked, with the key they need. */
export function NewSession(ctx: Ctx) {
  const [name, setName] = useState("");
  const [repos, setRepos] = useState("");
  const [write, setWrite] = useState(false);
  const [sdk, setSdk] = useState(SdkType.NATIVE);
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [model, setModel] = useState("");
  const [tailnet, setTailnet] = useState(false);
  const [prompt, setPrompt] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, run] = useAction(ctx);

  useEffect(() => {
    setModels(null);
    void run(async () => {
      const res = await ctx.api.sessions.listModels({ sdkType: sdk });
      setModels(res.models);
      setModel(res.models.find((m) => m.available)?.id ?? "");
    });
  }, [sdk]);

  const missing = [...new Set((models ?? []).filter((m) => !m.available).map((m) => m.missingKey))];

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    await run(async () => {
      const res = await ctx.api.sessions.createSession({
        name: name.trim(),
        repos: repos.split(/[\s,]+/).filter(Boolean),
        repoAccess: write ? RepoAccess.WRITE : RepoAccess.READ,
        sdkType: sdk,
        model,
        initialPrompt: prompt.trim(),
        networkConfig: { tailnetAccess: tailnet },
      });
      navigate(`/s/${res.session!.id}`);
    });
    setBusy(false);
  }

  return (
    <main>
      <Header title="New session" back />
      <form class="new-session" onSubmit={submit}>
        <label for="ns-name">Name</label>
        <input id="ns-name" value={name} placeholder="optional" onInput={(e) => setName(e.currentTarget.value)} />
        <label for="ns-repos">Repositories</label>
        <textarea id="ns-repos" rows={2} value={repos} placeholder="owner/repo, one per line"
          onInput={(e) => setRepos(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={write} onChange={(e) => setWrite(e.currentTarget.checked)} />
          Let the agent push (write access)
        </label>
        <label for="ns-sdk">Agent</label>
        <select id="ns-sdk" value={String(sdk)} onChange={(e) => setSdk(Number(e.currentTarget.value) as SdkType)}>
          <option value={String(SdkType.NATIVE)}>Native agent</option>
          <option value={String(SdkType.CLAUDE)}>Claude Agent SDK</option>
        </select>
        <label for="ns-model">Model</label>
        <select id="ns-model" value={model} disabled={!model} onChange={(e) => setModel(e.currentTarget.value)}>
          {models === null && <option>Loading models…</option>}
          {models !== null && !model && <option value="">No model available for this agent</option>}
          {models?.map((m) => (
            <option key={m.id} value={m.id} disabled={!m.available}>
              {m.name || m.id} ({m.provider}){m.available ? "" : ` — needs ${m.missingKey}`}
            </option>
          ))}
        </select>
        {missing.length > 0 && (
          <p class="hint">
            Models marked “needs” become available once you add {missing.join(" / ")} to
            ~/.config/netclode/secrets.env and restart Netclode (netclode down &amp;&amp; netclode up).
          </p>
        )}
        <label class="check">
          <input type="checkbox" checked={tailnet} onChange={(e) => setTailnet(e.currentTarget.checked)} />
          Allow tailnet access
        </label>
        <label for="ns-prompt">First prompt</label>
        <textarea id="ns-prompt" rows={3} value={prompt} placeholder="optional"
          onInput={(e) => setPrompt(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={busy || !model}>{busy ? "Creating…" : "Create session"}</button>
        <ErrorLine text={error} />
      </form>
    </main>
  );
}
