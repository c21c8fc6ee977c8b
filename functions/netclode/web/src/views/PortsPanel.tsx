import { useState } from "preact/hooks";
import { ErrorLine, useAction, useLoad, type Ctx } from "./common";

/** Ports the sandbox exposes, as preview links; expose or remove one. */
export function PortsPanel(props: Ctx & { sessionId: string }) {
  const { sessions } = props.api;
  const sessionId = props.sessionId;
  const list = useLoad(props, async () => (await sessions.listPorts({ sessionId })).ports);
  const [port, setPort] = useState("");
  const [error, run] = useAction(props);

  async function expose(e: Event) {
    e.preventDefault();
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) return;
    if (await run(() => sessions.exposePort({ sessionId, port: n }))) {
      setPort("");
      list.reload();
    }
  }

  return (
    <div class="panel ports">
      <div class="panel-head"><h2>Ports</h2></div>
      <ErrorLine text={list.error || error} />
      {list.unavailable ? (
        <p class="note" data-testid="ports-unavailable">Port previews are not available on this server yet.</p>
      ) : (
        <>
          {list.data?.length === 0 && <p class="empty">No exposed ports.</p>}
          <ul class="port-list">
            {list.data?.map((p) => (
              <li key={p.port}>
                <a href={p.previewUrl} target="_blank" rel="noopener noreferrer">:{p.port} {p.previewUrl}</a>
                <button class="ghost" onClick={async () => { if (await run(() => sessions.unexposePort({ sessionId, port: p.port }))) list.reload(); }}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <form class="inline" onSubmit={expose}>
            <input inputMode="numeric" aria-label="Port" placeholder="3000" value={port} onInput={(e) => setPort(e.currentTarget.value)} />
            <button type="submit">Expose</button>
          </form>
        </>
      )}
    </div>
  );
}
