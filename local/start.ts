import { ConfigError, readEmbeddedConfig } from "../functions/adapters/config.ts";
import { logger } from "../functions/adapters/observability.ts";
import { ensureConsoleBuilt } from "./console-build.ts";
import { createLocalDispatch } from "./dispatch.ts";
import { createEmbeddedRuntime, DataDirError } from "./embedded-context.ts";
import { PortInUseError, startLocalServer } from "./server.ts";
import { loadStaticFiles } from "./static-files.ts";

/** Starts the embedded runtime; exits the process with a clear message on a configuration problem. */
export async function startEmbedded(env: Record<string, string | undefined>): Promise<void> {
  let runtime: Awaited<ReturnType<typeof createEmbeddedRuntime>> | undefined;
  try {
    const config = readEmbeddedConfig(env);
    runtime = await createEmbeddedRuntime(config);
    const consoleFiles = await ensureConsoleBuilt();
    const server = await startLocalServer(createLocalDispatch(runtime.ctx), {
      port: config.port,
      host: config.host,
      ...(consoleFiles ? { staticFiles: loadStaticFiles(consoleFiles) } : {}),
    });
    const tokenNote =
      runtime.adminTokenSource === "env"
        ? "admin token: from ONCALL_ADMIN_TOKEN"
        : `admin token: ${await runtime.ctx.adminToken()} (saved in ${runtime.adminTokenFile})`;
    console.error(
      [
        `oncall ${runtime.ctx.version} (embedded) listening on ${server.url}`,
        consoleFiles
          ? `  console: open ${server.url}/ and sign in with the admin token`
          : "  console: not built (run npm ci); the API works without it",
        `  database: ${config.databaseUrl ? "DATABASE_URL" : `PGlite in ${config.dataDir}`}`,
        `  ${tokenNote}`,
        `  demo service ${runtime.demo.serviceId}, integration key: ${
          runtime.demo.integrationKeySource === "env"
            ? "from ONCALL_DEMO_INTEGRATION_KEY"
            : runtime.demo.integrationKey
        }`,
        `  try: curl -X POST -H 'content-type: application/json' -d '{"summary":"test"}' '${server.url}/v1/webhooks/generic?key=<integration key>'`,
      ].join("\n"),
    );

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info("shutting down", { signal });
      await server.close().catch(() => {});
      await runtime?.close().catch(() => {});
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
  } catch (err) {
    await runtime?.close().catch(() => {});
    if (err instanceof ConfigError || err instanceof DataDirError || err instanceof PortInUseError) {
      console.error(`oncall: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
