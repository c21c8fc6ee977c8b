import { useState } from "preact/hooks";
import { GitFileStatus, type GitFileChange } from "../gen/netclode/v1/common_pb";
import { ErrorLine, useAction, useLoad, type Ctx } from "./common";

/** The workspace's git changes; a file opens its diff. */
export function GitPanel(props: Ctx & { sessionId: string }) {
  const { sessions } = props.api;
  const status = useLoad(props, async () => (await sessions.gitStatus({ sessionId: props.sessionId })).files);
  const [open, setOpen] = useState<{ file: string; diff: string } | null>(null);
  const [error, run] = useAction(props);

  const show = (f: GitFileChange) =>
    run(async () => setOpen({ file: f.path, diff: (await sessions.gitDiff({ sessionId: props.sessionId, file: f.path })).diff }));

  return (
    <div class="panel git">
      <div class="panel-head">
        <h2>Changes</h2>
        <button class="ghost" onClick={() => { setOpen(null); status.reload(); }}>Refresh</button>
      </div>
      <ErrorLine text={status.error || error} />
      {status.unavailable && <p class="note">Git status is not available on this server.</p>}
      {status.data?.length === 0 && <p class="empty">No changes in the workspace.</p>}
      <ul class="files">
        {status.data?.map((f) => (
          <li key={f.path}>
            <button class="file" onClick={() => show(f)} aria-pressed={open?.file === f.path}>
              <span class={`badge g-${GitFileStatus[f.status]?.toLowerCase()}`}>{GitFileStatus[f.status]?.[0] ?? "?"}</span>
              <span class="path">{f.path}</span>
              <span class="meta"><span class="add">+{f.linesAdded}</span> <span class="del">−{f.linesRemoved}</span></span>
            </button>
          </li>
        ))}
      </ul>
      {open && <Diff {...open} />}
    </div>
  );
}

function Diff({ file, diff }: { file: string; diff: string }) {
  return (
    <div class="diff" data-testid="diff">
      <h3>{file}</h3>
      {diff ? (
        <pre>
          {diff.split("\n").map((line, i) => (
            <span key={i} class={lineClass(line)}>{line + "\n"}</span>
          ))}
        </pre>
      ) : (
        <p class="empty">No textual diff (binary or untracked file).</p>
      )}
    </div>
  );
}

function lineClass(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return "d-file";
  if (line.startsWith("@@")) return "d-hunk";
  if (line.startsWith("+")) return "d-add";
  if (line.startsWith("-")) return "d-del";
  return "";
}
