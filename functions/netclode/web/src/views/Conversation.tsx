import { useEffect, useRef } from "preact/hooks";
import type { Item, ToolItem } from "../timeline";
import { duration } from "./common";

/** The conversation, kept scrolled to the newest item unless the reader scrolled up. */
export function Conversation({ items }: { items: Item[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  });
  const onScroll = () => {
    const el = ref.current!;
    pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };
  return (
    <div class="conversation" ref={ref} onScroll={onScroll} data-testid="conversation">
      {items.length === 0 && <p class="empty">Nothing here yet. Send a prompt to start.</p>}
      {items.map((item) => <ItemView key={item.key} item={item} />)}
    </div>
  );
}

function ItemView({ item }: { item: Item }) {
  switch (item.type) {
    case "message":
      return (
        <div class={`msg msg-${item.role}${item.partial ? " streaming" : ""}`} data-role={item.role} data-final={String(!item.partial)}>
          {item.text}
        </div>
      );
    case "thinking":
      return (
        <details class="thinking">
          <summary>{item.partial ? "Thinking…" : "Thought"}</summary>
          <pre>{item.text}</pre>
        </details>
      );
    case "tool":
      return <ToolCard tool={item} />;
    case "command":
      return (
        <div class="command" data-testid="command">
          <code>$ {item.command}</code>
          <span class="meta">{item.done ? `exit ${item.exitCode} · ${duration(item.durationMs)}` : "running…"}</span>
        </div>
      );
    case "note":
      return <div class={`note note-${item.tone}`}>{item.text}</div>;
  }
}

function ToolCard({ tool }: { tool: ToolItem }) {
  const state = !tool.done ? "running" : tool.success ? "ok" : "failed";
  return (
    <details class={`tool tool-${state}`} data-testid="tool-card" data-tool={tool.tool} data-state={state}>
      <summary>
        <span class="tool-name">{tool.tool || "tool"}</span>
        <span class="tool-state">
          {state === "running" ? "running…" : `${state === "ok" ? "✓" : "✗"} ${duration(tool.durationMs)}`}
        </span>
      </summary>
      {tool.input && (<><h4>Input</h4><pre>{tool.input}</pre></>)}
      {(tool.output || tool.result) && (<><h4>Result</h4><pre>{tool.output || tool.result}</pre></>)}
      {tool.error && (<><h4>Error</h4><pre class="error">{tool.error}</pre></>)}
    </details>
  );
}
