import { useEffect, useState } from "preact/hooks";
import type { GetResourceLimitsResponse, GithubRepo } from "../gen/netclode/v1/api_pb";
import { RepoAccess, SdkType, type ModelInfo } from "../gen/netclode/v1/common_pb";
import { navigate } from "../router";
import { ErrorLine, Header, useAction, type Ctx } from "./common";

// The sizes offered (vCPUs, MiB of memory): those within the server's limits, plus its default.
const CPU_STEPS = [1, 2, 4, 8, 16, 32];
const MEMORY_STEPS = [1024, 2048, 4096, 8192, 16384, 32768, 65536];
// Every backend of the schema (listed in enum order); a new SdkType fails the build until it
// is named here.
const AGENTS: Record<Exclude<SdkType, SdkType.UNSPECIFIED>, string> = {
  [SdkType.NATIVE]: "Native agent",
  [SdkType.CLAUDE]: "Claude Agent SDK",
  [SdkType.OPENCODE]: "OpenCode",
  [SdkType.COPILOT]: "GitHub Copilot",
  [SdkType.CODEX]: "Codex",
};

export function memoryLabel(mb: number): string {
  return mb % 512 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}

/** The size picker: "default" (0) or a size within the limits GetResourceLimits reports. */
function SizePicker(props: {
  limits: GetResourceLimitsResponse | null;
  cpus: number;
  memory: number;
  setCpus: (n: number) => void;
  setMemory: (n: number) => void;
}) {
  const { limits } = props;
  const cpus = limits ? CPU_STEPS.filter((n) => n <= limits.maxVcpus) : [];
  const memory = limits
    ? MEMORY_STEPS.filter((mb) => mb >= limits.minMemoryMb && mb <= limits.maxMemoryMb)
    : [];
  return (
    <div class="size">
      <label for="ns-cpus">vCPUs</label>
      <select id="ns-cpus" value={String(props.cpus)} disabled={!limits}
        onChange={(e) => props.setCpus(Number(e.currentTarget.value))}>
        <option value="0">Default ({limits?.defaultVcpus ?? "…"})</option>
        {cpus.map((n) => <option key={n} value={String(n)}>{n}</option>)}
      </select>
      <label for="ns-memory">Memory</label>
      <select id="ns-memory" value={String(props.memory)} disabled={!limits}
        onChange={(e) => props.setMemory(Number(e.currentTarget.value))}>
        <option value="0">Default ({limits ? memoryLabel(limits.defaultMemoryMb) : "…"})</option>
        {memory.map((mb) => <option key={mb} value={String(mb)}>{memoryLabel(mb)}</option>)}
      </select>
    </div>
  );
}

/** The new-session form; models come from ListModels for the chosen SDK, sizes from
 * GetResourceLimits, and the repos the deployment's GitHub App (or token) reaches from
 * ListGithubRepos, to pick from. Models whose provider has no key on this server are shown but
 * cannot be picked, with the key they need. */
export function NewSession(ctx: Ctx) {
  const [name, setName] = useState("");
  const [repos, setRepos] = useState("");
  const [known, setKnown] = useState<GithubRepo[]>([]);
  const [write, setWrite] = useState(false);
  const [sdk, setSdk] = useState(SdkType.NATIVE);
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [model, setModel] = useState("");
  const [tailnet, setTailnet] = useState(false);
  const [prompt, setPrompt] = useState("");
  const [limits, setLimits] = useState<GetResourceLimitsResponse | null>(null);
  const [cpus, setCpus] = useState(0);
  const [memory, setMemory] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, run] = useAction(ctx);

  useEffect(() => {
    void run(async () => setLimits(await ctx.api.sessions.getResourceLimits({})));
    // Only a convenience: without it (no GitHub configured, GitHub down) repos are typed.
    ctx.api.sessions.listGithubRepos({}).then((res) => setKnown(res.repos), () => setKnown([]));
  }, []);

  const chosen = repos.split(/[\s,]+/).filter(Boolean);
  function toggle(fullName: string) {
    const rest = chosen.filter((r) => r !== fullName);
    setRepos((rest.length < chosen.length ? rest : [...chosen, fullName]).join("\n"));
  }

  useEffect(() => {
    // An agent picked while the last agent's models load: that answer, if it comes last,
    // must not replace this agent's list.
    let current = true;
    setModels(null);
    void run(async () => {
      const res = await ctx.api.sessions.listModels({ sdkType: sdk });
      if (!current) return;
      setModels(res.models);
      setModel(res.models.find((m) => m.available)?.id ?? "");
    });
    return () => {
      current = false;
    };
  }, [sdk]);

  // What unlocks the rest: keys (for secrets.env), or sign-in commands (`netclode auth codex`).
  const needs = [...new Set((models ?? []).filter((m) => !m.available).map((m) => m.missingKey))];
  const missing = needs.filter((n) => !n.includes(" "));
  const signIns = needs.filter((n) => n.includes(" "));

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    await run(async () => {
      const res = await ctx.api.sessions.createSession({
        name: name.trim(),
        repos: chosen,
        repoAccess: write ? RepoAccess.WRITE : RepoAccess.READ,
        sdkType: sdk,
        model,
        initialPrompt: prompt.trim(),
        networkConfig: { tailnetAccess: tailnet },
        resources: { vcpus: cpus, memoryMb: memory },
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
        {known.length > 0 && (
          <div class="repo-picker" role="group" aria-label="Your GitHub repositories">
            {known.map((r) => (
              <button type="button" key={r.fullName} class="chip" aria-pressed={chosen.includes(r.fullName)}
                title={r.description} onClick={() => toggle(r.fullName)}>
                {r.fullName}{r.private ? " (private)" : ""}
              </button>
            ))}
          </div>
        )}
        <label class="check">
          <input type="checkbox" checked={write} onChange={(e) => setWrite(e.currentTarget.checked)} />
          Let the agent push (write access)
        </label>
        <label for="ns-sdk">Agent</label>
        <select id="ns-sdk" value={String(sdk)} onChange={(e) => setSdk(Number(e.currentTarget.value) as SdkType)}>
          {Object.entries(AGENTS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
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
        {signIns.map((command) => (
          <p class="hint" key={command}>Models marked “needs {command}” become available once you run {command}.</p>
        ))}
        <label class="check">
          <input type="checkbox" checked={tailnet} onChange={(e) => setTailnet(e.currentTarget.checked)} />
          Allow tailnet access
        </label>
        <SizePicker limits={limits} cpus={cpus} memory={memory} setCpus={setCpus} setMemory={setMemory} />
        <label for="ns-prompt">First prompt</label>
        <textarea id="ns-prompt" rows={3} value={prompt} placeholder="optional"
          onInput={(e) => setPrompt(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={busy || !model}>{busy ? "Creating…" : "Create session"}</button>
        <ErrorLine text={error} />
      </form>
    </main>
  );
}
