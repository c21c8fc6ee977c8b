import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "preact/hooks";
import { Code, errorText, isCode } from "../api";
import { Follower, linkText, type LinkState } from "../follow";
import type { TerminalChunk } from "../gen/netclode/v1/api_pb";
import { ErrorLine, type Ctx } from "./common";

/** The sandbox's shell in xterm.js: scrollback replayed, then live; reconnects from its cursor. */
export function TerminalPanel(props: Ctx & { sessionId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [link, setLink] = useState<LinkState>({ kind: "connecting" });
  const [error, setError] = useState("");
  const { sessions } = props.api;
  const sessionId = props.sessionId;

  useEffect(() => {
    const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 13, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current!);
    let cursor = "";
    const call = (p: Promise<unknown>) => p.then(() => setError(""), (err) => setError(errorText(err)));
    const resize = () => {
      fit.fit();
      void call(sessions.terminalResize({ sessionId, cols: term.cols, rows: term.rows }));
    };
    const send = inputQueue((data) => call(sessions.terminalInput({ sessionId, data: new TextEncoder().encode(data) })));
    const input = term.onData(send);
    const observer = new ResizeObserver(resize);
    observer.observe(host.current!);

    const follower = new Follower<TerminalChunk | null>({
      open: (signal) => chunks(props, sessionId, () => cursor, signal),
      onItem: (chunk) => {
        if (!chunk) return;
        cursor = chunk.cursor;
        term.write(chunk.data);
        if (chunk.exited) term.write(`\r\n[shell exited with status ${chunk.exitCode}]\r\n`);
      },
      onState: setLink,
      isFatal: (err) => (isCode(err, Code.NotFound) || isCode(err, Code.FailedPrecondition) ? errorText(err) : null),
    });
    term.focus();
    return () => {
      follower.stop();
      observer.disconnect();
      input.dispose();
      term.dispose();
    };
  }, [sessionId]);

  return (
    <div class="panel terminal">
      <ErrorLine text={error} />
      {link.kind !== "live" && <p class="waiting" role="status">{linkText(link)}</p>}
      <div class="xterm-host" ref={host} data-testid="terminal" />
    </div>
  );
}

/**
 * Keystrokes in order: one TerminalInput in flight at a time, and whatever is typed meanwhile
 * goes out as the next single call (parallel unary calls could arrive reordered).
 */
function inputQueue(post: (data: string) => Promise<unknown>): (data: string) => void {
  let pending = "";
  let busy = false;
  const flush = async () => {
    busy = true;
    while (pending) {
      const data = pending;
      pending = "";
      await post(data);
    }
    busy = false;
  };
  return (data) => {
    pending += data;
    if (!busy) void flush();
  };
}

async function* chunks(ctx: Ctx, sessionId: string, cursor: () => string, signal: AbortSignal) {
  for await (const res of ctx.api.sessions.watchTerminal({ sessionId, afterCursor: cursor() }, { signal })) {
    yield res.item.case === "chunk" ? res.item.value : null;
  }
}
