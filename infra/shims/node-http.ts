/**
 * `node:http` for the Lambda bundles (esbuild `alias`, infra/bundling.ts), loaded with `require`.
 * An ES module `import` of a built-in builds its ESM facade, which reads every export; on Node 24
 * that runs the lazy `WebSocket` / `CloseEvent` / `MessageEvent` getters of node:http, which load
 * undici: 30–90 ms of every cold start for a module nobody uses (Powertools' tracer and middy import
 * node:http). Export here what bundled code imports by name; esbuild fails the build on a missing one.
 */
import type * as Http from "node:http";
import { createRequire } from "node:module";

const http = createRequire(import.meta.url)("node:http") as typeof Http;
export default http;
export const { Agent, ClientRequest, IncomingMessage, METHODS, STATUS_CODES, get, request } = http;
