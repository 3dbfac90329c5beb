import { randomBytes, randomUUID } from "node:crypto";
import { access, constants, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { sql } from "kysely";
import {
  createProviderRegistry,
  type NotificationConfig,
  readNotificationConfig,
} from "../functions/adapters/channels/registry.ts";
import type { EmbeddedConfig } from "../functions/adapters/config.ts";
import { type DatabaseHandle, openDatabase } from "../functions/adapters/db/database.ts";
import { isDatabaseUnavailable } from "../functions/adapters/db/errors.ts";
import { migrateToLatest } from "../functions/adapters/db/migrate.ts";
import { nextDueAt, reclaimAbandonedSends } from "../functions/adapters/db/stores/deliveries.ts";
import { connectRemoteDirectory } from "../functions/adapters/directory/remote-directory.ts";
import { logger } from "../functions/adapters/observability.ts";
import { createEnvSecretResolver } from "../functions/adapters/secrets/env-secret-resolver.ts";
import { version } from "../functions/adapters/version.ts";
import { createProviderContactSender } from "../functions/app/contact-messages.ts";
import type { AppContext } from "../functions/app/context.ts";
import { claimDeliveries, deliveryDepsOf, sendClaimedDeliveries } from "../functions/app/deliveries.ts";
import { channelLookupOver, deliverySettingsFor } from "../functions/app/delivery-runtime.ts";
import { createDeliveryWorker } from "../functions/app/delivery-worker.ts";
import { effectDepsOf } from "../functions/app/effect-registry.ts";
import { type EffectDeps, runOwedEffectsOfAlerts, sweepEffects } from "../functions/app/effects.ts";
import { createMaintenanceCheck } from "../functions/app/maintenance.ts";
import { createSendSlots, DEFAULT_SEND_SLOTS } from "../functions/app/send-slots.ts";
import { createUserDirectoryBinding } from "../functions/app/user-directory.ts";
import { systemClock } from "../functions/domain/clock.ts";
import { createHousekeeping } from "../functions/handlers/housekeeping.ts";
import { createEmbeddedEscalations } from "./embedded-escalations.ts";
import { openEmbeddedPglite } from "./pglite-template.ts";

const housekeepingIntervalMs = 60_000;
/** The delivery worker's longest sleep: a row it was not told about (another process) waits at most this. */
const deliveryPollMs = 1_000;

import { type DemoSeed, seedDemo } from "./seed-demo.ts";

export class DataDirError extends Error {
  override readonly name = "DataDirError";
}

/** DATABASE_URL names a database we cannot reach or use. */
export class DatabaseUrlError extends Error {
  override readonly name = "DatabaseUrlError";
}

export interface EmbeddedRuntime {
  ctx: AppContext;
  /** Where the admin token came from, for the start-up banner. */
  adminTokenSource: "env" | "file" | "generated";
  adminTokenFile: string;
  installationId: string;
  demo: DemoSeed;
  close(): Promise<void>;
}

/** Runs every effect left pending by a previous process, in batches; failures stay for housekeeping. */
async function sweepOrphanedEffects(deps: EffectDeps): Promise<void> {
  try {
    for (let ran = 0; ; ) {
      const swept = await sweepEffects(deps, { limit: 500, everything: true });
      ran += swept.ran;
      if (swept.failed > 0 || swept.ran < 500) {
        if (ran > 0) logger.warn("effects left by a previous process run at start", { ran });
        return;
      }
    }
  } catch (error) {
    logger.warn("could not run the effects left by a previous process; housekeeping retries", {
      error: error as Error,
    });
  }
}

/**
 * Builds the embedded AppContext: data folder checked, database opened (PGlite in the data
 * folder, or DATABASE_URL) and migrated, admin token resolved, installation recorded, in-flight
 * escalations resumed.
 */
export async function createEmbeddedRuntime(
  config: EmbeddedConfig,
  options: {
    /** How email, SMS and HTTP messages leave (read by start.ts before anything opens). */
    notifications?: NotificationConfig;
    /** Where secret references (ONCALL_SECRET_*) are read. */
    env?: Record<string, string | undefined>;
  } = {},
): Promise<EmbeddedRuntime> {
  const env = options.env ?? process.env;
  const notifications = options.notifications ?? readNotificationConfig(env, "embedded");
  const dataDir = resolve(config.dataDir);
  await ensureWritableDir(dataDir);
  if (config.databaseUrl) await migratePostgres(config, config.databaseUrl);
  const database = await openEmbeddedDatabase(config, dataDir);
  try {
    if (!config.databaseUrl) await migrateToLatest(database.db);
    const installationId = await recordInstallation(database);
    const token = await resolveAdminToken(config, dataDir);
    const demo = await seedDemo(database, {
      dataDir,
      demoIntegrationKey: config.demoIntegrationKey,
      now: systemClock.now(),
      seedDirectory: config.directory === undefined,
      demoWebhookUrl: config.demoWebhookUrl,
    });
    // The delivery worker runs the use case over this context (built just below).
    let ctx: AppContext | undefined;
    const sendSlots = createSendSlots(DEFAULT_SEND_SLOTS);
    const deliveries = createDeliveryWorker({
      claim: (limit) => claimDeliveries(deliveryDepsOf(ctx!), { limit }),
      send: (claimed) => sendClaimedDeliveries(deliveryDepsOf(ctx!), claimed),
      nextDueAt: () => nextDueAt(database.db),
      clock: systemClock,
      pollMs: deliveryPollMs,
      batch: 200,
      slots: sendSlots,
    });
    const escalations = await createEmbeddedEscalations({
      db: database.db,
      clock: systemClock,
      // delivery (issue 12): a recorded step's notifications are planned right away, not at the sweep.
      notified: (alertIds) => runOwedEffectsOfAlerts(effectDepsOf(ctx!), "notifications.deliver", alertIds),
    });
    const outbound = createProviderRegistry(notifications, {
      db: () => database.db,
      clock: systemClock,
      secrets: createEnvSecretResolver(env),
    });
    ctx = {
      runtime: "embedded",
      version,
      database,
      clock: systemClock,
      adminToken: async () => token.value,
      corsAllowedOrigins: config.corsAllowedOrigins,
      ingestRateLimitPerMinute: config.ingestRateLimitPerMinute,
      ingestAlertLimitPerMinute: config.ingestAlertLimitPerMinute,
      autoResolveAfterDays: config.autoResolveAfterDays,
      escalations: escalations.runner,
      delivery: {
        channels: channelLookupOver(() => database.db),
        providers: outbound.providers,
        queue: deliveries,
        sendSlots,
        settings: deliverySettingsFor({
          outboundTimeoutMs: notifications.httpTimeoutMs,
          slackBotTokenRef: notifications.slackBotTokenRef,
          // "Open" links in messages (a bundle's link to the alerts): this server's console unless told.
          consoleUrl:
            env.ONCALL_CONSOLE_URL?.trim() || (config.port > 0 ? `http://127.0.0.1:${config.port}` : ""),
        }),
      },
      ...createUserDirectoryBinding({
        config: config.directory,
        database,
        clock: systemClock,
        connectRemote: connectRemoteDirectory,
      }),
      // Routing asks it per new alert: windows cached, keyed by their version stamp.
      maintenance: createMaintenanceCheck({ db: () => database.db, clock: systemClock }),
      contactMessages: createProviderContactSender(outbound.providers, {
        slackBotTokenRef: notifications.slackBotTokenRef,
      }),
      outbound,
    };
    await escalations.resume();
    // Sends a previous process started but did not record (it died mid-send) go again now, not after
    // their lease: no other process sends from this data folder.
    const reclaimed = await reclaimAbandonedSends(database.db, systemClock.now());
    if (reclaimed > 0) logger.warn("deliveries a previous process was sending are sent again", { reclaimed });
    deliveries.start();
    // Effects of alert changes that a previous process committed but did not run (it died in between):
    // no other process can be running them (one process per data folder), so all are taken now.
    void sweepOrphanedEffects(effectDepsOf(ctx));
    // What the scheduled housekeeping Lambda does on AWS (functions/handlers/housekeeping.ts).
    const housekeeping = createHousekeeping(ctx);
    const timer = setInterval(() => {
      housekeeping(undefined).catch((error: unknown) =>
        logger.warn("housekeeping failed", { error: error as Error }),
      );
    }, housekeepingIntervalMs);
    timer.unref();
    return {
      ctx,
      adminTokenSource: token.source,
      adminTokenFile: token.file,
      installationId,
      demo,
      close: async () => {
        clearInterval(timer);
        escalations.runner.close();
        await deliveries.stop();
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}

/**
 * Migrations run on a connection of their own without a statement timeout (an index build may take
 * minutes); the serving pool has one. A database that cannot be reached stops the start here, in
 * ONCALL_DB_CONNECT_TIMEOUT_MS, with one sentence naming DATABASE_URL.
 */
async function migratePostgres(config: EmbeddedConfig, url: string): Promise<void> {
  const migration = await openDatabase({
    kind: "postgres",
    url,
    maxConnections: 1,
    timeouts: { connectMs: config.dbConnectTimeoutMs, statementMs: 0 },
  });
  try {
    await migrateToLatest(migration.db);
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw new DatabaseUrlError(databaseUrlProblem(url, err), { cause: err });
    throw err;
  } finally {
    await migration.close().catch(() => {});
  }
}

/** One sentence for an unreachable DATABASE_URL, without its password. */
export function databaseUrlProblem(url: string, err: unknown): string {
  let where = "the database";
  try {
    const parsed = new URL(url);
    where = `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    // Not a URL: pg reads other connection strings too; say nothing about it.
  }
  return `DATABASE_URL: cannot use the database at ${where} (${rootMessage(err)})`;
}

function rootMessage(err: unknown): string {
  let e = err as { message?: string; code?: string; cause?: unknown } | undefined;
  while (e && typeof e === "object" && e.cause && e.cause !== e) e = e.cause as typeof e;
  const message = String(e?.message ?? err).split("\n")[0] ?? "";
  return e?.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    throw new DataDirError(
      `data folder ${dir} is not usable (${(err as Error).message}): set ONCALL_DATA_DIR`,
      {
        cause: err,
      },
    );
  }
}

async function openEmbeddedDatabase(config: EmbeddedConfig, dataDir: string): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    return openDatabase({
      kind: "postgres",
      url: config.databaseUrl,
      timeouts: { connectMs: config.dbConnectTimeoutMs, statementMs: config.dbStatementTimeoutMs },
    });
  }
  try {
    // A fresh folder starts from the migrated template (pglite-template.ts), not from initdb.
    return await openEmbeddedPglite(join(dataDir, "pgdata"));
  } catch (err) {
    throw new DataDirError(
      `cannot open the embedded database in ${join(dataDir, "pgdata")} (${(err as Error).message}); ` +
        "is another oncall process using this ONCALL_DATA_DIR?",
      { cause: err },
    );
  }
}

/** The first start writes an installation id; later starts find it (proof the data was kept). */
async function recordInstallation(database: DatabaseHandle): Promise<string> {
  const candidate = { id: randomUUID(), createdAt: new Date().toISOString() };
  await database.db
    .insertInto("settings")
    .values({ key: "installation", value: sql`${JSON.stringify(candidate)}::jsonb` })
    .onConflict((oc) => oc.column("key").doNothing())
    .execute();
  const row = await database.db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", "installation")
    .executeTakeFirstOrThrow();
  return (row.value as { id: string }).id;
}

async function resolveAdminToken(
  config: EmbeddedConfig,
  dataDir: string,
): Promise<{ value: string; source: EmbeddedRuntime["adminTokenSource"]; file: string }> {
  const file = join(dataDir, "admin-token");
  if (config.adminToken) return { value: config.adminToken, source: "env", file };
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing) return { value: existing, source: "file", file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const value = randomBytes(32).toString("base64url");
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return { value, source: "generated", file };
}
