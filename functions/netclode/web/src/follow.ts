// Follows a server stream for as long as the view wants it, reconnecting from the last cursor.
//
// A phone drops connections all the time: the network changes, the screen locks, a proxy
// times out an idle stream. The server sends a heartbeat at least every 15 s, so silence for
// longer than STALL_MS means the connection is dead even if the socket never said so. Waits
// between attempts grow (1 s … 10 s) but end early when the browser comes back online or the
// page becomes visible again.

export type LinkState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "retrying"; inMs: number; reason: string }
  | { kind: "offline" }
  | { kind: "stopped"; reason: string };

export interface FollowOptions<T> {
  /** Opens the stream from wherever the caller's cursor is now. */
  open: (signal: AbortSignal) => AsyncIterable<T>;
  onItem: (item: T) => void;
  onState: (state: LinkState) => void;
  /** Called before every reconnect (not the first connect). */
  onReconnect?: () => void;
  /** Errors after which retrying is pointless (e.g. the session was deleted). */
  isFatal?: (err: unknown) => string | null;
}

const STALL_MS = 35_000;
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 10_000;

export class Follower<T> {
  private stopped = false;
  private current: AbortController | null = null;
  private wake: (() => void) | null = null;
  private stallTimer: number | undefined;

  constructor(private readonly opts: FollowOptions<T>) {
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    window.clearTimeout(this.stallTimer);
    this.current?.abort();
    this.wake?.();
  }

  /** Drops the current connection and reconnects now (from the caller's cursor). */
  reconnect(): void {
    this.current?.abort();
    this.wake?.();
  }

  private onOnline = () => this.reconnect();
  private onOffline = () => {
    this.current?.abort();
    this.opts.onState({ kind: "offline" });
  };
  private onVisible = () => {
    if (document.visibilityState === "visible") this.reconnect();
  };

  private async run(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    let first = true;
    while (!this.stopped) {
      if (!first) this.opts.onReconnect?.();
      first = false;
      let reason = "connection closed";
      try {
        await this.once();
        backoff = MIN_BACKOFF_MS;
      } catch (err) {
        if (this.stopped) break;
        const fatal = this.opts.isFatal?.(err);
        if (fatal) {
          this.opts.onState({ kind: "stopped", reason: fatal });
          return;
        }
        reason = err instanceof Error ? err.message : String(err);
      }
      if (this.stopped) break;
      if (!navigator.onLine) this.opts.onState({ kind: "offline" });
      else this.opts.onState({ kind: "retrying", inMs: backoff, reason });
      await this.sleep(navigator.onLine ? backoff : MAX_BACKOFF_MS);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  private async once(): Promise<void> {
    const ctl = new AbortController();
    this.current = ctl;
    this.opts.onState({ kind: "connecting" });
    this.armStallTimer(ctl);
    try {
      for await (const item of this.opts.open(ctl.signal)) {
        this.armStallTimer(ctl);
        this.opts.onState({ kind: "live" });
        this.opts.onItem(item);
      }
    } finally {
      window.clearTimeout(this.stallTimer);
      if (this.current === ctl) this.current = null;
    }
  }

  private armStallTimer(ctl: AbortController): void {
    window.clearTimeout(this.stallTimer);
    this.stallTimer = window.setTimeout(() => ctl.abort(), STALL_MS);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = window.setTimeout(done, ms);
      const self = this;
      function done() {
        window.clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}

export function linkText(state: LinkState): string {
  switch (state.kind) {
    case "connecting":
      return "Connecting…";
    case "live":
      return "";
    case "retrying":
      return `Connection lost (${state.reason}); retrying in ${Math.round(state.inMs / 1000)} s…`;
    case "offline":
      return "Offline; waiting for the network…";
    case "stopped":
      return state.reason;
  }
}
