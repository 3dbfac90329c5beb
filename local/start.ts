import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { type NotificationConfig, readNotificationConfig } from "../functions/adapters/channels/registry.ts";
import { ConfigError, readEmbeddedConfig } from "../functions/adapters/config.ts";
import { logger } from "../functions/adapters/observability.ts";
import { ensureConsoleBuilt } from "./console-build.ts";
import { type DataDirLock, DataDirLockedError, lockDataDir, restrictDataDir } from "./data-dir.ts";
import { createLocalDispatch } from "./dispatch.ts";
import {
  createEmbeddedRuntime,
  DatabaseUrlError,
  DataDirError,
  type EmbeddedRuntime,
} from "./embedded-context.ts";
import type { LambdaHttpHandler } from "./lambda-http-bridge.ts";
import { ListenError, PortInUseError, startLocalServer } from "./server.ts";
import { loadStaticFiles } from "./static-files.ts";

/** Start-up failures that are the operator's to fix: one sentence, no stack trace. */
const expectedFailures = [
  ConfigError,
  DataDirError,
  DataDirLockedError,
  DatabaseUrlError,
  PortInUseError,
  ListenError,
];

/**
 * Starts the embedded runtime. Cheap checks first, so that a mistake is reported in a moment: the
 * configuration, the data folder (and its lock), the port; only then the database (PGlite takes
 * seconds to open). Any failure exits with one line naming the variable or resource.
 */
export async function startEmbedded(env: Record<string, string | undefined>): Promise<void> {
  let runtime: EmbeddedRuntime | undefined;
  let lock: DataDirLock | undefined;
  let closeServer: (() => Promise<void>) | undefined;
  try {
    const config = readEmbeddedConfig(env);
    const notifications = readNotificationConfig(env, "embedded");
    // Whatever this process writes (tokens, PGlite's folders) is its owner's alone.
    process.umask(0o077);
    const dataDir = resolve(config.dataDir);
    await prepareDataDir(dataDir);
    lock = await lockDataDir(dataDir);
    const heldLock = lock;
    process.once("exit", () => heldLock.release());

    const consoleFiles = await ensureConsoleBuilt();
    // Until the database is ready, requests get 503 "starting" (a health check polls it).
    let dispatch: LambdaHttpHandler | undefined;
    const server = await startLocalServer(
      (event, context) => (dispatch ? dispatch(event, context) : Promise.resolve(starting())),
      {
        port: config.port,
        host: config.host,
        ...(consoleFiles ? { staticFiles: loadStaticFiles(consoleFiles) } : {}),
      },
    );
    closeServer = server.close;

    runtime = await createEmbeddedRuntime(config, { notifications, env });
    await restrictDataDir(dataDir);
    dispatch = createLocalDispatch(runtime.ctx);
    console.error(
      [
        `oncall ${runtime.ctx.version} (embedded) listening on ${server.url}`,
        consoleFiles
          ? `  console: open ${server.url}/ and sign in with the admin token`
          : "  console: not built (run npm ci); the API works without it",
        `  database: ${config.databaseUrl ? "DATABASE_URL" : `PGlite in ${config.dataDir}`}`,
        `  ${outboundNote(notifications)}`,
        `  ${adminTokenNote(runtime, await runtime.ctx.adminToken())}`,
        `  demo service ${runtime.demo.serviceId}, ${demoKeyNote(runtime)}`,
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
      // Files PGlite wrote since the start lose their group/other bits too.
      await restrictDataDir(dataDir).catch(() => {});
      heldLock.release();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
  } catch (err) {
    await closeServer?.().catch(() => {});
    await runtime?.close().catch(() => {});
    lock?.release();
    if (expectedFailures.some((type) => err instanceof type)) {
      console.error(`oncall: ${(err as Error).message}`);
    } else {
      // Not one we know: still one line (the stack goes to the debug log, not the operator's face).
      logger.debug("start-up failed", { error: err as Error });
      console.error(`oncall: could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.exit(1);
  }
}

async function prepareDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await restrictDataDir(dir);
  } catch (err) {
    throw new DataDirError(
      `data folder ${dir} is not usable (${(err as Error).message}): set ONCALL_DATA_DIR`,
      { cause: err },
    );
  }
}

/** Secrets are printed once, when they are generated; after that the banner names their file. */
function adminTokenNote(runtime: EmbeddedRuntime, token: string | undefined): string {
  switch (runtime.adminTokenSource) {
    case "env":
      return "admin token: from ONCALL_ADMIN_TOKEN";
    case "file":
      return `admin token: in ${runtime.adminTokenFile}`;
    case "generated":
      return `admin token: ${token} (generated now, saved in ${runtime.adminTokenFile})`;
  }
}

function demoKeyNote(runtime: EmbeddedRuntime): string {
  switch (runtime.demo.integrationKeySource) {
    case "env":
      return "integration key: from ONCALL_DEMO_INTEGRATION_KEY";
    case "file":
      return `integration key: in ${runtime.demo.integrationKeyFile}`;
    case "generated":
      return `integration key: ${runtime.demo.integrationKey} (generated now, saved in ${runtime.demo.integrationKeyFile})`;
  }
}

function starting() {
  return {
    statusCode: 503,
    headers: { "content-type": "application/json", "retry-after": "1" },
    body: JSON.stringify({ code: "unavailable", message: "starting, retry shortly" }),
  };
}

/** Where email and SMS go, for the banner: a newcomer learns that pages wait in the local outbox. */
function outboundNote(n: NotificationConfig): string {
  const email =
    n.email.provider === "smtp" ? "SMTP" : n.email.provider === "outbox" ? "local outbox" : n.email.provider;
  const sms = n.sms.provider === "sns" ? "SNS" : "local outbox";
  const outbox =
    n.email.provider === "outbox" || n.sms.provider === "outbox"
      ? " (read it: oncall.v1.LocalOutboxService/ListOutboxMessages)"
      : "";
  return `email: ${email}, SMS: ${sms}${outbox}; local channel URLs ${n.allowLocalUrls ? "allowed" : "refused"}`;
}
