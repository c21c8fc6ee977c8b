import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "preact/hooks";
import type { SessionSummary } from "../gen/netclode/v1/common_pb";
import { navigate } from "../router";
import { statusWord } from "../timeline";
import { ago, ErrorLine, Header, useAction, type Ctx } from "./common";

const POLL_MS = 3000;

/** Every session the token may see, refreshed every few seconds while the page is visible. */
export function SessionList(ctx: Ctx) {
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [error, run] = useAction(ctx);

  useEffect(() => {
    let timer: number | undefined;
    let alive = true;
    const poll = async () => {
      if (document.visibilityState === "visible") {
        await run(async () => {
          const res = await ctx.api.sessions.listSessions({});
          if (alive) setSessions(res.sessions);
        });
      }
      if (alive) timer = window.setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [ctx.api]);

  const sorted = [...(sessions ?? [])].sort(
    (a, b) => Number(b.session?.lastActiveAt?.seconds ?? 0) - Number(a.session?.lastActiveAt?.seconds ?? 0),
  );
  return (
    <main>
      <Header title="Sessions">
        <button class="primary" onClick={() => navigate("/new")}>New session</button>
        <button class="ghost" onClick={() => ctx.signOut()}>Sign out</button>
      </Header>
      <ErrorLine text={error} />
      {sessions === null && !error && <p class="waiting">Loading sessions…</p>}
      {sessions?.length === 0 && <p class="empty">No sessions yet. Start one with “New session”.</p>}
      <ul class="sessions">
        {sorted.map((s) => {
          const session = s.session!;
          const last = session.lastActiveAt ? timestampDate(session.lastActiveAt) : undefined;
          return (
            <li key={session.id}>
              <a href={`/s/${session.id}`} onClick={(e) => { e.preventDefault(); navigate(`/s/${session.id}`); }}>
                <span class="name">{session.name || session.id}</span>
                <span class={`status s-${statusWord(session.status)}`}>{statusWord(session.status)}</span>
                <span class="repos">{session.repos.map(shortRepo).join(", ") || "no repository"}</span>
                <span class="meta">{Number(s.messageCount)} messages · {ago(last)}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </main>
  );
}

export function shortRepo(url: string): string {
  return url.replace(/^https:\/\/github\.com\//, "").replace(/\.git$/, "");
}
