// The conversation of one session, folded from its stream entries.
//
// The contract (api.proto): final entries carry the cursor and arrive exactly once per watch,
// but a reconnect may replay one we already have, so they are deduped by id. Partial entries
// (text deltas, tool-input chunks) are live-only: they build a provisional item that the one
// final entry with the same correlation id replaces. After a reconnect the deltas sent while
// we were away are gone, so provisional text is dropped and rebuilt from what follows.
import { SessionStatus, type Session } from "./gen/netclode/v1/common_pb";
import {
  AgentEventKind,
  FileChangeType,
  MessageRole,
  RepoCloneStage,
  type AgentEvent,
  type StreamEntry,
} from "./gen/netclode/v1/events_pb";

export interface MessageItem {
  type: "message";
  key: string;
  role: "user" | "assistant";
  text: string;
  partial: boolean;
}
export interface ThinkingItem {
  type: "thinking";
  key: string;
  text: string;
  partial: boolean;
}
export interface ToolItem {
  type: "tool";
  key: string;
  tool: string;
  input: string;
  inputFinal: boolean;
  output: string;
  done: boolean;
  success: boolean;
  error: string;
  result: string;
  durationMs: number;
}
export interface CommandItem {
  type: "command";
  key: string;
  command: string;
  done: boolean;
  exitCode: number;
  durationMs: number;
}
export interface NoteItem {
  type: "note";
  key: string;
  tone: "info" | "error" | "file" | "clone" | "turn";
  text: string;
}
export type Item = MessageItem | ThinkingItem | ToolItem | CommandItem | NoteItem;

/** Stream ids are "<ms>-<seq>"; compares them numerically. */
export function cursorAfter(a: string, b: string): boolean {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am !== bm ? am > bm : (as ?? 0) > (bs ?? 0);
}

export class Timeline {
  items: Item[] = [];
  /** The newest final entry applied: where a reconnect resumes. */
  cursor = "";
  session: Session | undefined;
  /** Snapshots taken while watching: the snapshots panel reloads when this grows. */
  snapshotsTaken = 0;
  private byKey = new Map<string, Item>();
  private seen = new Set<string>();

  /** Folds one entry in; false when it changed nothing (a duplicate or an ignored kind). */
  apply(entry: StreamEntry): boolean {
    if (!entry.partial) {
      if (this.seen.has(entry.id)) return false;
      this.seen.add(entry.id);
      if (!this.cursor || cursorAfter(entry.id, this.cursor)) this.cursor = entry.id;
    }
    const p = entry.payload;
    switch (p.case) {
      case "event":
        return this.applyEvent(entry, p.value);
      case "sessionUpdate":
        return this.applySession(entry, p.value);
      case "error":
        this.add({ type: "note", key: entry.id, tone: "error", text: `${p.value.code}: ${p.value.message}` });
        return true;
      default:
        return false;
    }
  }

  /** Forgets provisional text whose deltas may have been missed while disconnected. */
  dropPartials(): void {
    this.items = this.items.filter((item) => {
      const provisional = (item.type === "message" || item.type === "thinking") && item.partial;
      if (provisional) this.byKey.delete(item.key);
      if (item.type === "tool" && !item.inputFinal) item.input = "";
      return !provisional;
    });
  }

  /** What the session is doing, in words, or "" when it waits for nothing. */
  activity(): string {
    const last = this.items[this.items.length - 1];
    if (last?.type === "tool" && !last.done) return `Running ${last.tool}…`;
    if (last?.type === "message" && last.partial) return "Writing…";
    if (last?.type === "thinking" && last.partial) return "Thinking…";
    return "";
  }

  private add(item: Item): Item {
    this.items.push(item);
    this.byKey.set(item.key, item);
    return item;
  }

  private applySession(entry: StreamEntry, session: Session): boolean {
    const before = this.session?.status;
    this.session = session;
    if (before !== undefined && before !== session.status) {
      this.add({ type: "note", key: entry.id, tone: "info", text: `Session ${statusWord(session.status)}` });
    }
    return true;
  }

  private applyEvent(entry: StreamEntry, ev: AgentEvent): boolean {
    const p = ev.payload;
    const cid = ev.correlationId || entry.id;
    switch (p.case) {
      case "message": {
        const role = p.value.role === MessageRole.USER ? "user" : "assistant";
        return this.text(`msg:${cid}`, entry.partial, p.value.content, () => ({
          type: "message", key: `msg:${cid}`, role, text: "", partial: true,
        }));
      }
      case "thinking":
        return this.text(`think:${cid}`, entry.partial, p.value.content, () => ({
          type: "thinking", key: `think:${cid}`, text: "", partial: true,
        }));
      case "toolStart":
        this.tool(cid).tool = p.value.tool;
        return true;
      case "toolInput": {
        const tool = this.tool(cid);
        if (!entry.partial) {
          tool.input = p.value.input ? JSON.stringify(p.value.input, null, 2) : "";
          tool.inputFinal = true;
        } else if (!tool.inputFinal) tool.input += p.value.delta;
        return true;
      }
      case "toolOutput": {
        const tool = this.tool(cid);
        tool.output = entry.partial ? tool.output + p.value.delta : p.value.output;
        return true;
      }
      case "toolEnd":
        Object.assign(this.tool(cid), {
          done: true, success: p.value.success, error: p.value.error,
          result: p.value.result, durationMs: Number(p.value.durationMs),
        });
        return true;
      case "commandStart":
        this.command(cid).command = p.value.command;
        return true;
      case "commandEnd":
        Object.assign(this.command(cid), {
          command: p.value.command, done: true, exitCode: p.value.exitCode,
          durationMs: Number(p.value.durationMs),
        });
        return true;
      case "fileChange": {
        const change = FileChangeType[p.value.change]?.toLowerCase() ?? "changed";
        const text = `${change} ${p.value.path} +${p.value.linesAdded} −${p.value.linesRemoved}`;
        this.add({ type: "note", key: entry.id, tone: "file", text });
        return true;
      }
      case "repoClone":
        return this.note(`clone:${p.value.repo}`, "clone",
          `Clone ${p.value.repo}: ${RepoCloneStage[p.value.stage]?.toLowerCase() ?? ""} ${p.value.message}`.trim());
      case "turnCompleted": {
        const t = p.value;
        const text = t.interrupted ? "Turn interrupted" : t.error ? `Turn failed: ${t.error}` : "Turn complete";
        return this.note(entry.id, t.error ? "error" : "turn", text);
      }
      case "portExposed":
        return this.note(entry.id, "info", `Port ${p.value.port} exposed`);
      case "snapshotCreated":
        this.snapshotsTaken += 1;
        return this.note(entry.id, "info", `Snapshot ${p.value.snapshot?.name ?? ""} taken`);
      default:
        if (ev.kind === AgentEventKind.AGENT_DISCONNECTED) return this.note(entry.id, "error", "Agent disconnected");
        if (ev.kind === AgentEventKind.AGENT_RECONNECTED) return this.note(entry.id, "info", "Agent reconnected");
        return false;
    }
  }

  /** Deltas append to a provisional item; the final replaces it; later deltas are ignored. */
  private text(key: string, partial: boolean, content: string, make: () => MessageItem | ThinkingItem): boolean {
    const item = (this.byKey.get(key) as MessageItem | ThinkingItem | undefined) ?? (this.add(make()) as MessageItem | ThinkingItem);
    if (!item.partial) return false;
    if (partial) item.text += content;
    else Object.assign(item, { text: content, partial: false });
    return true;
  }

  private note(key: string, tone: NoteItem["tone"], text: string): boolean {
    const item = this.byKey.get(key) as NoteItem | undefined;
    if (item) item.text = text;
    else this.add({ type: "note", key, tone, text });
    return true;
  }

  private tool(cid: string): ToolItem {
    const key = `tool:${cid}`;
    return (this.byKey.get(key) as ToolItem | undefined) ?? (this.add({
      type: "tool", key, tool: "", input: "", inputFinal: false, output: "",
      done: false, success: false, error: "", result: "", durationMs: 0,
    }) as ToolItem);
  }

  private command(cid: string): CommandItem {
    const key = `cmd:${cid}`;
    return (this.byKey.get(key) as CommandItem | undefined) ?? (this.add({
      type: "command", key, command: "", done: false, exitCode: 0, durationMs: 0,
    }) as CommandItem);
  }
}

export function statusWord(status: SessionStatus): string {
  return SessionStatus[status]?.toLowerCase() ?? "unknown";
}
