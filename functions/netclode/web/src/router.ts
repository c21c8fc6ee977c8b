// Path routes (the server answers index.html for them): "/", "/new", "/s/<session id>".
import { useEffect, useState } from "preact/hooks";

export type Route = { name: "list" } | { name: "new" } | { name: "session"; id: string };

export function parse(path: string): Route {
  if (path === "/new") return { name: "new" };
  const m = /^\/s\/([^/]+)$/.exec(path);
  return m ? { name: "session", id: decodeURIComponent(m[1]) } : { name: "list" };
}

export function navigate(path: string): void {
  history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parse(location.pathname));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  return route;
}
