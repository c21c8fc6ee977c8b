// The Connect clients, authenticated with the API token the user signed in with.
//
// The token lives in this tab's sessionStorage only: never in a URL, never in storage another
// origin (or another tab) can read, and gone when the tab closes.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SessionService, TokenService } from "./gen/netclode/v1/api_pb";

const TOKEN_KEY = "netclode.token";

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export interface Api {
  sessions: Client<typeof SessionService>;
  tokens: Client<typeof TokenService>;
}

export function connectApi(token: string): Api {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
  // Same origin as the page: the api function serves both.
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    interceptors: [auth],
    useBinaryFormat: true,
  });
  return {
    sessions: createClient(SessionService, transport),
    tokens: createClient(TokenService, transport),
  };
}

/** A one-line message for an error from a call (Connect errors carry the server's reason). */
export function errorText(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage || Code[err.code];
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isCode(err: unknown, code: Code): boolean {
  return err instanceof ConnectError && err.code === code;
}

export { Code };
