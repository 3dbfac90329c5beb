import type { Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

const tokenKey = "oncall.token";

/** The token lives for the browser session only: closing the tab signs out. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(tokenKey),
  set: (token: string) => sessionStorage.setItem(tokenKey, token),
  clear: () => sessionStorage.removeItem(tokenKey),
};

const bearer: Interceptor = (next) => (req) => {
  const token = tokenStore.get();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

/** The API is on the console's own origin (npm start, and CloudFront on AWS): no CORS. */
export const transport = createConnectTransport({
  baseUrl: window.location.origin,
  interceptors: [bearer],
});
