import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP proxy a test controls, to put a network fault between the code and its database:
 * `partition()` stops every byte in both directions (new connections hang), as a network partition
 * does; `heal()` delivers what was held back. Bytes a client sent and then abandoned with a reset
 * (RST) are dropped, as a real network drops the unacknowledged data of a reset connection; a
 * client that closed normally (FIN) still gets its bytes delivered after the heal.
 */
export interface TcpProxy {
  readonly port: number;
  partition(): void;
  heal(): void;
  /** Connections currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  toUpstream: Buffer[];
  toClient: Buffer[];
  clientEnded: boolean;
  dead: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let partitioned = false;
  const pairs = new Set<Pair>();

  const connectUpstream = (pair: Pair) => {
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on("data", (chunk: Buffer) => {
      if (partitioned) pair.toClient.push(chunk);
      else pair.client.write(chunk);
    });
    upstream.on("error", () => {});
    upstream.on("close", () => {
      pair.dead = true;
      pair.client.destroy();
      pairs.delete(pair);
    });
    flush(pair);
  };

  const flush = (pair: Pair) => {
    if (pair.dead) return;
    for (const chunk of pair.toUpstream.splice(0)) pair.upstream?.write(chunk);
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
    if (pair.clientEnded) pair.upstream?.end();
  };

  const server = createServer((client) => {
    const pair: Pair = {
      client,
      upstream: undefined,
      toUpstream: [],
      toClient: [],
      clientEnded: false,
      dead: false,
    };
    pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      if (partitioned || !pair.upstream) pair.toUpstream.push(chunk);
      else pair.upstream.write(chunk);
    });
    client.on("end", () => {
      pair.clientEnded = true;
      if (!partitioned) pair.upstream?.end();
    });
    client.on("error", () => {});
    client.on("close", () => {
      if (!pair.clientEnded) {
        // Reset: what it sent and the network still held is gone.
        pair.toUpstream = [];
        pair.dead = true;
        pair.upstream?.destroy();
        pairs.delete(pair);
      }
    });
    if (!partitioned) connectUpstream(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };

  return {
    port,
    partition() {
      partitioned = true;
    },
    heal() {
      partitioned = false;
      for (const pair of pairs) {
        if (pair.dead) continue;
        if (!pair.upstream) connectUpstream(pair);
        else flush(pair);
      }
    },
    connections: () => pairs.size,
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
