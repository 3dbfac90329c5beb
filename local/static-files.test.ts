import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiPath, loadStaticFiles } from "./static-files.ts";

describe("static files (the console beside the API)", () => {
  let root: string;
  let server: Server;
  let base: string;
  const bigScript = `console.log(${JSON.stringify("x".repeat(5000))});`;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "oncall-static-"));
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(root, "assets/app-abc123.js"), bigScript);
    writeFileSync(join(root, "assets/app-abc123.css"), "body{}");
    writeFileSync(join(root, "..", "secret-beside-root.txt"), "secret");
    const files = loadStaticFiles(root);
    // What the embedded server does: the console first, everything else to the API (here: a marker).
    server = createServer((req, res) => {
      if (files.handle(req, res)) return;
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"api":true}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(root, { recursive: true, force: true });
    rmSync(join(root, "..", "secret-beside-root.txt"), { force: true });
  });

  const html = { accept: "text/html,application/xhtml+xml" };

  it("serves index.html at / with its content type, CSP and no-cache", async () => {
    const res = await fetch(`${base}/`, { headers: html });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(await res.text()).toContain("<title>console</title>");
  });

  it("serves hashed assets as immutable, gzip when asked, and 304 on a matching etag", async () => {
    const res = await fetch(`${base}/assets/app-abc123.css`);
    expect(res.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(res.headers.get("cache-control")).toContain("immutable");
    const { request } = await import("node:http");
    const gz = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      request(`${base}/assets/app-abc123.js`, { headers: { "accept-encoding": "gzip" } }, (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c) => chunks.push(c));
        r.on("end", () =>
          resolve({ encoding: r.headers["content-encoding"] as string, body: Buffer.concat(chunks) }),
        );
      })
        .on("error", reject)
        .end();
    });
    expect(gz.encoding).toBe("gzip");
    expect(gunzipSync(gz.body).toString()).toBe(bigScript);
    const etag = res.headers.get("etag") ?? "";
    const again = await fetch(`${base}/assets/app-abc123.css`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("answers client-side routes of a browser navigation with the app, not other requests", async () => {
    const nav = await fetch(`${base}/alerts/42`, { headers: html });
    expect(nav.status).toBe(200);
    expect(await nav.text()).toContain("<title>console</title>");
    // curl and API clients keep the API's 404; a missing asset is never answered with HTML.
    expect(await (await fetch(`${base}/alerts/42`)).json()).toEqual({ api: true });
    expect((await fetch(`${base}/assets/missing.js`, { headers: html })).status).toBe(404);
  });

  it("never answers API paths, nor methods other than GET and HEAD", async () => {
    for (const path of [
      "/oncall.v1.AlertService/ListAlerts",
      "/healthz",
      "/v1/webhooks/alertmanager",
      "/v2/enqueue",
    ]) {
      expect(isApiPath(path), path).toBe(true);
      expect(await (await fetch(`${base}${path}`, { headers: html })).json()).toEqual({ api: true });
    }
    expect(isApiPath("/alerts/1")).toBe(false);
    const post = await fetch(`${base}/`, { method: "POST", headers: html, body: "x" });
    expect(await post.json()).toEqual({ api: true });
  });

  it("cannot be led outside its folder", async () => {
    const { request } = await import("node:http");
    // Raw paths (fetch would normalize the dots away).
    for (const path of [
      "/../secret-beside-root.txt",
      "/%2e%2e/secret-beside-root.txt",
      "/assets/..%2f..%2fsecret-beside-root.txt",
      "/%00",
    ]) {
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: "127.0.0.1", port: new URL(base).port, path, headers: { accept: "*/*" } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
          .on("error", reject)
          .end();
      });
      expect(status, path).toBe(404);
    }
  });
});
