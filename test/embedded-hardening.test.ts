import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedProcess, startEmbeddedProcess, waitHealthy } from "./support/embedded-process.ts";

// `npm start` hardening (issue 9, rows 8, 12, 14, 15, 19): one process on a fresh data folder with
// generated secrets, a second one on the same folder, oversize bodies, a restart, bad settings.

const running: EmbeddedProcess[] = [];
function start(env: Record<string, string>): EmbeddedProcess {
  // No ONCALL_ADMIN_TOKEN / ONCALL_DEMO_INTEGRATION_KEY: this suite is about generated secrets.
  const started = startEmbeddedProcess(env);
  running.push(started);
  return started;
}

afterAll(() => {
  for (const s of running) s.child.kill("SIGKILL");
});

/** Every path under `dir` whose mode gives group or others any access. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0) found.push(`${(stat.mode & 0o777).toString(8)} ${path}`);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return found;
}

/** A POST of `size` bytes, sent as curl does: with `Expect: 100-continue`, the body only after 100. */
function postLarge(
  url: string,
  size: number,
  options: { expectContinue: boolean },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL("/v1/webhooks/generic", url);
    const req = request(target, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/json",
        "content-length": String(size),
        ...(options.expectContinue ? { expect: "100-continue" } : {}),
      },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const send = () => {
      let left = size;
      const pump = () => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          if (!req.write(part)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    };
    if (options.expectContinue) req.once("continue", send);
    else send();
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.once("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
      res.once("error", reject);
    });
    req.once("error", reject);
  });
}

describe("npm start on one data folder", () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-hardening-"));
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("locks the folder, keeps it private, refuses oversize bodies readably, prints secrets only once", async () => {
    const first = start({ ONCALL_DATA_DIR: dataDir });
    const url = await waitHealthy(first, 180_000);

    // Row 12: the generated secrets are printed this once.
    const adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
    const demoKey = readFileSync(join(dataDir, "demo-integration-key"), "utf8").trim();
    expect(first.output()).toContain(adminToken);
    expect(first.output()).toContain(demoKey);

    // Row 8: nobody else can enter the folder; PGlite's files have no group/other bits.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(openToOthers(dataDir)).toEqual([]);

    // Row 14: a second process on the same folder stops at once, naming the folder and the holder.
    const lock = JSON.parse(readFileSync(join(dataDir, "oncall.lock"), "utf8")) as { pid: number };
    expect(lock.pid).toBe(first.child.pid);
    const second = start({ ONCALL_DATA_DIR: dataDir });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`data folder ${dataDir} is in use by another oncall process`);
    expect(second.output()).toContain(`pid ${first.child.pid}`);
    expect(second.output()).not.toMatch(/\n\s+at /);
    // ...and the first one is still serving.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // Row 19: 12 MiB, with and without `Expect: 100-continue`: a readable 413 every time.
    const size = 12 * 1024 * 1024;
    for (let i = 0; i < 12; i++) {
      for (const expectContinue of [true, false]) {
        const res = await postLarge(url, size, { expectContinue });
        expect({ i, expectContinue, status: res.status }).toEqual({ i, expectContinue, status: 413 });
        expect(JSON.parse(res.body)).toMatchObject({ code: "payload_too_large" });
      }
    }
    // The server is fine afterwards.
    const ok = await fetch(`${url}/v1/webhooks/generic`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${demoKey}` },
      body: JSON.stringify({ summary: "after the big ones" }),
    });
    expect(ok.status).toBe(200);

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(openToOthers(dataDir)).toEqual([]);

    // A lock left by a process that died (SIGKILL) is stale: the next start takes it over.
    const dead = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
    const deadPid = dead.pid!;
    dead.kill("SIGKILL");
    await new Promise((resolve) => dead.once("exit", resolve));
    writeFileSync(
      join(dataDir, "oncall.lock"),
      JSON.stringify({ pid: deadPid, host: (await import("node:os")).hostname(), startedAt: "earlier" }),
    );

    // Row 12: on a restart the banner names the files and prints neither secret.
    const third = start({ ONCALL_DATA_DIR: dataDir });
    await waitHealthy(third, 180_000);
    expect(third.output()).not.toContain(adminToken);
    expect(third.output()).not.toContain(demoKey);
    expect(third.output()).toContain(`admin token: in ${join(dataDir, "admin-token")}`);
    expect(third.output()).toContain(`integration key: in ${join(dataDir, "demo-integration-key")}`);
    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  }, 600_000);
});

describe("start-up failures are one sentence naming the variable (row 15)", () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-hardening-fail-"));
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function failure(env: Record<string, string>): Promise<string> {
    const started = start({ ONCALL_DATA_DIR: dataDir, ...env });
    expect(await started.exited).toBe(1);
    const output = started.output().trim();
    // One line, no stack trace.
    expect(output.split("\n")).toHaveLength(1);
    expect(output).not.toMatch(/\bat .*\.(ts|js):\d+/);
    return output;
  }

  it("a HOST that is no address of this machine", async () => {
    expect(await failure({ HOST: "no-such-host.invalid" })).toMatch(
      /^oncall: HOST: cannot listen on no-such-host\.invalid \(/,
    );
  }, 120_000);

  it("a DATABASE_URL host that does not resolve", async () => {
    expect(
      await failure({ DATABASE_URL: "postgres://postgres:secret@no-such-host.invalid:5432/oncall" }),
    ).toMatch(/^oncall: DATABASE_URL: cannot use the database at no-such-host\.invalid:5432\/oncall \(/);
  }, 120_000);

  it("a DATABASE_URL where nothing answers, within its connect timeout", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const output = await failure({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/oncall` });
    expect(output).toMatch(
      new RegExp(`^oncall: DATABASE_URL: cannot use the database at 127.0.0.1:${port}/oncall`),
    );
    expect(output).not.toContain("secret");
  }, 120_000);

  it("checks the port before the database", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      // The database would fail too (it does not resolve): the port is what is reported.
      const output = await failure({
        PORT: String(port),
        DATABASE_URL: "postgres://postgres@no-such-host.invalid:5432/oncall",
      });
      expect(output).toBe(`oncall: port ${port} is already in use: stop the other process or set PORT`);
    } finally {
      blocker.close();
    }
  }, 120_000);
});
