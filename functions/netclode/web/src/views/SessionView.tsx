import type { FunctionComponent } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Code, isCode } from "../api";
import { Follower, linkText, type LinkState } from "../follow";
import { SessionStatus, type Session } from "../gen/netclode/v1/common_pb";
import type { StreamEntry } from "../gen/netclode/v1/events_pb";
import { navigate } from "../router";
import { statusWord, Timeline } from "../timeline";
import { ErrorLine, Header, useAction, type Ctx } from "./common";
import { Conversation } from "./Conversation";
import { GitPanel } from "./GitPanel";
import { PortsPanel } from "./PortsPanel";
import { PromptBox } from "./PromptBox";
import { SnapshotsPanel } from "./SnapshotsPanel";
import { shortRepo } from "./SessionList";

type Panel = "chat" | "changes" | "terminal" | "snapshots" | "ports";
const PANELS: [Panel, string][] = [
  ["chat", "Chat"],
  ["changes", "Changes"],
  ["terminal", "Terminal"],
  ["snapshots", "Snapshots"],
  ["ports", "Ports"],
];
const HISTORY_PAGE = 500;
const MAX_HISTORY_PAGES = 100;

/** One session: the conversation on the left (or alone on a phone), tools in the side panel. */
export function SessionView(props: Ctx & { id: string }) {
  // A restored snapshot rewrites the history: a new generation starts the timeline over.
  const [generation, setGeneration] = useState(0);
  return <SessionScreen key={generation} {...props} restart={() => setGeneration((g) => g + 1)} />;
}

function SessionScreen(props: Ctx & { id: string; restart: () => void }) {
  const { api, id } = props;
  const timeline = useMemo(() => new Timeline(), []);
  const [, setVersion] = useState(0);
  const [link, setLink] = useState<LinkState>({ kind: "connecting" });
  const [panel, setPanel] = useState<Panel>("chat");
  const [error, run] = useAction(props);
  const session = timeline.session;

  useEffect(() => {
    const follower = new Follower<StreamEntry | null>({
      open: (signal) => entries(props, id, timeline, signal),
      onItem: (entry) => {
        if (entry && timeline.apply(entry)) setVersion((v) => v + 1);
      },
      onState: (state) => setLink((prev) => (prev.kind === state.kind && state.kind === "live" ? prev : state)),
      onReconnect: () => {
        timeline.dropPartials();
        setVersion((v) => v + 1);
      },
      isFatal: (err) => {
        if (isCode(err, Code.NotFound)) return "This session no longer exists.";
        if (isCode(err, Code.Unauthenticated)) props.signOut("That token is no longer accepted.");
        return isCode(err, Code.PermissionDenied) ? "You may not see this session." : null;
      },
    });
    return () => follower.stop();
  }, [id]);

  const setSession = (s: Session | undefined) => {
    if (s) timeline.session = s;
    setVersion((v) => v + 1);
  };
  const status = session?.status ?? SessionStatus.UNSPECIFIED;
  const paused = status === SessionStatus.PAUSED;

  const rename = () => {
    const name = window.prompt("Rename session", session?.name ?? "");
    if (name?.trim()) void run(async () => setSession((await api.sessions.renameSession({ sessionId: id, name: name.trim() })).session));
  };
  const addRepo = () => {
    const repo = window.prompt("Add a repository (owner/name)", "");
    if (repo?.trim()) void run(async () => setSession((await api.sessions.updateRepoAccess({ sessionId: id, addRepos: [repo.trim()] })).session));
  };
  const remove = () => {
    if (window.confirm("Delete this session and its workspace?")) {
      void run(async () => {
        await api.sessions.deleteSession({ sessionId: id });
        navigate("/");
      });
    }
  };
  const pauseOrResume = () =>
    run(async () => {
      const res = paused ? await api.sessions.resumeSession({ sessionId: id }) : await api.sessions.pauseSession({ sessionId: id });
      setSession(res.session);
    });

  const waiting = [linkText(link), waitingFor(status), timeline.activity()].filter(Boolean);
  return (
    <main class={`session panel-${panel}`}>
      <Header title={session?.name || id} back>
        <span class={`status s-${statusWord(status)}`} data-testid="status">{statusWord(status)}</span>
        <button class="ghost" onClick={rename} disabled={!session}>Rename</button>
        <button class="ghost" onClick={addRepo} disabled={!session}>Add repo</button>
        <button class="ghost" onClick={pauseOrResume} disabled={!session}>{paused ? "Resume" : "Pause"}</button>
        <button class="ghost danger" onClick={remove} disabled={!session}>Delete</button>
      </Header>
      {session && (
        <p class="session-meta">
          {session.repos.map(shortRepo).join(", ") || "no repository"} · {session.model}
        </p>
      )}
      <ErrorLine text={error} />
      <nav class="tabs" role="tablist">
        {PANELS.map(([name, label]) => (
          <button key={name} role="tab" class={`tab tab-${name}`} aria-selected={panel === name} onClick={() => setPanel(name)}>
            {label}
          </button>
        ))}
      </nav>
      <div class="columns">
        <section class="chat-column">
          <Conversation items={timeline.items} />
          {waiting.length > 0 && <p class="waiting" role="status">{waiting.join(" ")}</p>}
          <PromptBox {...props} sessionId={id} running={status === SessionStatus.RUNNING} paused={paused} />
        </section>
        <section class="side-column">
          {panel === "changes" && <GitPanel {...props} sessionId={id} />}
          {panel === "terminal" && <LazyTerminal {...props} sessionId={id} />}
          {panel === "snapshots" && (
            // Keyed by the snapshots taken: a new one (cut after a turn) reloads the list.
            <SnapshotsPanel key={timeline.snapshotsTaken} {...props} sessionId={id} onRestored={props.restart} />
          )}
          {panel === "ports" && <PortsPanel {...props} sessionId={id} />}
        </section>
      </div>
    </main>
  );
}

type TerminalProps = Ctx & { sessionId: string };

/** xterm.js is most of the bundle: it loads the first time a terminal is opened. */
function LazyTerminal(props: TerminalProps) {
  const [Panel, setPanel] = useState<FunctionComponent<TerminalProps> | null>(null);
  const [failed, setFailed] = useState("");
  useEffect(() => {
    import("./TerminalPanel").then((m) => setPanel(() => m.TerminalPanel), (err) => setFailed(String(err)));
  }, []);
  if (failed) return <ErrorLine text={`The terminal could not load: ${failed}`} />;
  return Panel ? <Panel {...props} /> : <p class="waiting">Loading the terminal…</p>;
}

/** History pages after the cursor, then the live watch; heartbeats come through as null. */
async function* entries(ctx: Ctx, sessionId: string, timeline: Timeline, signal: AbortSignal) {
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const res = await ctx.api.sessions.listEntries({ sessionId, afterCursor: timeline.cursor, limit: HISTORY_PAGE }, { signal });
    yield* res.entries;
    if (!res.hasMore) break;
  }
  for await (const res of ctx.api.sessions.watchSession({ sessionId, afterCursor: timeline.cursor }, { signal })) {
    yield res.item.case === "entry" ? res.item.value : null;
  }
}

function waitingFor(status: SessionStatus): string {
  switch (status) {
    case SessionStatus.CREATING:
      return "Starting the sandbox…";
    case SessionStatus.RESUMING:
      return "Resuming the sandbox…";
    case SessionStatus.RUNNING:
      return "The agent is working…";
    case SessionStatus.PAUSED:
      return "Paused. Resume to continue.";
    default:
      return "";
  }
}
