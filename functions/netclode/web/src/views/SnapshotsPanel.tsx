import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ago, ErrorLine, useAction, useLoad, type Ctx } from "./common";

/** Snapshots of the session; restoring one rolls workspace and history back to it. */
export function SnapshotsPanel(props: Ctx & { sessionId: string; onRestored: () => void }) {
  const { sessions } = props.api;
  const list = useLoad(props, async () => (await sessions.listSnapshots({ sessionId: props.sessionId })).snapshots);
  const [error, run] = useAction(props);

  const restore = (snapshotId: string, name: string) => {
    if (!window.confirm(`Restore “${name}”? Later changes and messages are removed.`)) return;
    void run(async () => {
      await sessions.restoreSnapshot({ sessionId: props.sessionId, snapshotId });
      props.onRestored();
    });
  };

  return (
    <div class="panel snapshots">
      <div class="panel-head">
        <h2>Snapshots</h2>
        {!list.unavailable && <button class="ghost" onClick={list.reload}>Refresh</button>}
      </div>
      <ErrorLine text={list.error || error} />
      {list.unavailable && <p class="note" data-testid="snapshots-unavailable">Snapshots are not available on this server yet.</p>}
      {list.data?.length === 0 && <p class="empty">No snapshots yet: one is taken after each turn.</p>}
      <ul class="snapshot-list">
        {list.data?.map((s) => (
          <li key={s.id}>
            <span class="name">{s.name || `Turn ${s.turnNumber}`}</span>
            <span class="meta">{Number(s.messageCount)} messages · {ago(s.createdAt && timestampDate(s.createdAt))}</span>
            <button onClick={() => restore(s.id, s.name || `turn ${s.turnNumber}`)}>Restore</button>
          </li>
        ))}
      </ul>
    </div>
  );
}
