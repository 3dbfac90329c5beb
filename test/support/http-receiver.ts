import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a receiver got. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the receiver answers; `hang` never answers (for timeouts). */
export type ScriptedAnswer =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { hang: true };

/**
 * A real HTTP server on 127.0.0.1 standing in for Slack, Teams or a webhook receiver: it records
 * every request and answers from a script (then with `fallback`), so a test asserts on what
 * actually went over the wire.
 */
export async function startHttpReceiver(fallback: ScriptedAnswer = { status: 200, body: "ok" }) {
  const requests: ReceivedRequest[] = [];
  const script: ScriptedAnswer[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      for (const w of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const answer = script.shift() ?? fallback;
      if ("hang" in answer) return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = "/") => `http://127.0.0.1:${port}${path}`,
    requests,
    /** Answers for the next requests, in order. */
    answer(...answers: ScriptedAnswer[]) {
      script.push(...answers);
    },
    /** Resolves once `count` requests have arrived in all. */
    received(count: number): Promise<void> {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    /** Forgets the requests and the answers not given yet. */
    reset() {
      requests.length = 0;
      script.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type HttpReceiver = Awaited<ReturnType<typeof startHttpReceiver>>;
