import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { ingestSourceOf } from "../functions/adapters/http/ingest-routes.ts";

/**
 * The console's static files (console/dist/) for the embedded server: what S3 + CloudFront serve
 * on AWS. Loaded into memory once (the bundle is a few hundred KB), so a request never touches the
 * file system and no path can reach outside the folder: only names in the map are served.
 */
export interface StaticFiles {
  /** Answers the request when it is for the console; false leaves it to the API. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly fileCount: number;
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** The console's content security policy: its own scripts and the API on the same origin only. */
export const consoleCsp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

interface Entry {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
  immutable: boolean;
}

/** Paths that belong to the API (Connect RPCs, health, webhooks): never answered with the console. */
export function isApiPath(path: string): boolean {
  return (
    /^\/[a-z][\w]*(\.[a-z][\w]*)+\.[A-Z]\w*\//.test(path) || // /oncall.v1.AlertService/…
    path === "/healthz" ||
    ingestSourceOf(path) !== undefined ||
    path.startsWith("/v1/") ||
    path.startsWith("/v2/")
  );
}

export function loadStaticFiles(root: string): StaticFiles {
  const files = new Map<string, Entry>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith(".")) continue; // .source-hash and the like are not for browsers
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const body = readFileSync(full);
        const type = contentTypes[extname(name).toLowerCase()] ?? "application/octet-stream";
        const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
        const urlPath = `/${relative(root, full).split(sep).join("/")}`;
        files.set(urlPath, {
          body,
          ...(compressible ? { gzip: gzipSync(body) } : {}),
          type,
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
          // Vite puts content hashes in the names of everything under assets/.
          immutable: urlPath.startsWith("/assets/"),
        });
      }
    }
  };
  walk(root);
  const index = files.get("/index.html");

  return {
    fileCount: files.size,
    handle(req, res) {
      const method = req.method ?? "GET";
      if (method !== "GET" && method !== "HEAD") return false;
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? "/", "http://local").pathname);
      } catch {
        return false; // malformed escapes: the API answers 404
      }
      if (isApiPath(path)) return false;
      let entry = files.get(path === "/" ? "/index.html" : path);
      // Client-side routes (/alerts/42) get the app; a missing asset or file name stays a 404.
      if (!entry && index && !extname(path) && acceptsHtml(req)) entry = index;
      if (!entry) return false;
      send(req, res, entry, method === "HEAD");
      return true;
    },
  };
}

/** Browsers ask for text/html when they navigate; API clients (curl: any type) keep the API's 404. */
function acceptsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? "").includes("text/html");
}

function send(req: IncomingMessage, res: ServerResponse, entry: Entry, head: boolean): void {
  const headers: Record<string, string> = {
    "content-type": entry.type,
    etag: entry.etag,
    "cache-control": entry.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    "x-content-type-options": "nosniff",
    vary: "accept-encoding",
  };
  if (entry.type.startsWith("text/html")) {
    headers["content-security-policy"] = consoleCsp;
    headers["x-frame-options"] = "DENY";
    headers["referrer-policy"] = "no-referrer";
  }
  if (req.headers["if-none-match"] === entry.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = entry.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? (entry.gzip as Buffer) : entry.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.length);
  res.writeHead(200, headers);
  res.end(head ? undefined : body);
}
