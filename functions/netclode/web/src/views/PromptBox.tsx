import { useEffect, useState } from "preact/hooks";
import { ErrorLine, useAction, type Ctx } from "./common";

/** Send a prompt (Enter; Shift+Enter for a new line) or interrupt the running turn. */
export function PromptBox(props: Ctx & { sessionId: string; running: boolean; paused: boolean }) {
  const [text, setText] = useState("");
  const [queued, setQueued] = useState(false);
  const [error, run] = useAction(props);
  const { sessions } = props.api;
  // "Queued" stops being news once the turn it waited for starts or ends.
  useEffect(() => setQueued(false), [props.running]);

  async function send(e?: Event) {
    e?.preventDefault();
    const prompt = text.trim();
    if (!prompt) return;
    const ok = await run(async () => {
      const res = await sessions.sendPrompt({ sessionId: props.sessionId, text: prompt });
      setQueued(res.queued);
    });
    if (ok) setText("");
  }

  return (
    <form class="prompt" onSubmit={send}>
      <ErrorLine text={error} />
      {queued && props.running && <p class="hint">Your prompt is queued after the current turn.</p>}
      <div class="prompt-row">
        <textarea
          aria-label="Prompt"
          rows={2}
          value={text}
          placeholder={props.paused ? "Paused: resume to send" : "Ask the agent…"}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) void send(e);
          }}
        />
        <div class="prompt-buttons">
          <button type="submit" class="primary" disabled={!text.trim()}>Send</button>
          <button type="button" class="danger" disabled={!props.running}
            onClick={() => run(() => sessions.interruptPrompt({ sessionId: props.sessionId }))}>
            Interrupt
          </button>
        </div>
      </div>
    </form>
  );
}
