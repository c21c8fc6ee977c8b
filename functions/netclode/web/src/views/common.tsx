import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { Code, errorText, isCode, type Api } from "../api";
import { navigate } from "../router";

export interface Ctx {
  api: Api;
  signOut: (reason?: string) => void;
}

/** Runs an API call, turning a rejected token into a sign-out and any error into a message. */
export function useAction(ctx: Ctx): [string, (fn: () => Promise<unknown>) => Promise<boolean>, (e: string) => void] {
  const [error, setError] = useState("");
  const run = useCallback(
    async (fn: () => Promise<unknown>) => {
      setError("");
      try {
        await fn();
        return true;
      } catch (err) {
        if (isCode(err, Code.Unauthenticated)) ctx.signOut("That token is no longer accepted.");
        else setError(errorText(err));
        return false;
      }
    },
    [ctx],
  );
  return [error, run, setError];
}

export function Header(props: { title: string; back?: boolean; children?: ComponentChildren }) {
  return (
    <header class="bar">
      {props.back && (
        <a class="back" href="/" onClick={(e) => { e.preventDefault(); navigate("/"); }} aria-label="All sessions">
          ‹
        </a>
      )}
      <h1>{props.title}</h1>
      <div class="bar-actions">{props.children}</div>
    </header>
  );
}

export function ErrorLine({ text }: { text: string }) {
  return text ? <p class="error" role="alert">{text}</p> : null;
}

export function ago(date: Date | undefined): string {
  if (!date) return "";
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return date.toLocaleDateString();
}

export function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export interface Loaded<T> {
  data: T | null;
  error: string;
  /** The server does not implement this call (yet): the panel says so instead of failing. */
  unavailable: boolean;
  reload: () => void;
}

/** Loads `fn` once and on reload(); `unimplemented` becomes a flag, not an error. */
export function useLoad<T>(ctx: Ctx, fn: () => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [error, run, setError] = useAction(ctx);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    void run(async () => {
      try {
        setData(await fn());
      } catch (err) {
        if (!isCode(err, Code.Unimplemented)) throw err;
        setUnavailable(true);
      }
    });
  }, [tick]);
  return { data, error, unavailable, reload: () => { setError(""); setTick((t) => t + 1); } };
}
