import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "kysely";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { jsonb } from "../functions/adapters/db/jsonb.ts";
import { insertContactMethod, insertUser } from "../functions/adapters/db/stores/directory.ts";
import { hashSecret, newIntegrationSecret } from "../functions/adapters/db/stores/integration-keys.ts";

/** The demo's two people, as ids in the embedded user directory (we store ids only). */
export const demoUserIds = ["demo-alice", "demo-bob"] as const;

export interface DemoSeed {
  serviceId: string;
  integrationKey: string;
  integrationKeySource: "env" | "file" | "generated";
  /** Where a generated key is kept (the start-up banner names it instead of printing the key again). */
  integrationKeyFile: string;
}

/**
 * First start: a demo service with a universal integration key, an escalation policy (the rotation
 * at once, then Bob after 5 minutes, twice) and a weekly rotation of Alice and Bob. Later starts
 * change nothing except adding the key from ONCALL_DEMO_INTEGRATION_KEY if it is new.
 */
export async function seedDemo(
  database: DatabaseHandle,
  options: {
    dataDir: string;
    demoIntegrationKey: string | undefined;
    now: Date;
    /** False when the directory is remote: the demo people then live in kneutral-api. */
    seedDirectory?: boolean;
    /** ONCALL_DEMO_WEBHOOK_URL: Alice also gets a webhook contact method to this receiver. */
    demoWebhookUrl?: string | undefined;
  },
): Promise<DemoSeed> {
  const keyFile = join(options.dataDir, "demo-integration-key");
  const { db } = database;
  const marker = await db.selectFrom("settings").select("value").where("key", "=", "demo").executeTakeFirst();
  let serviceId = (marker?.value as { serviceId?: string } | undefined)?.serviceId;

  if (!serviceId) {
    serviceId = await db.transaction().execute(async (trx) => {
      const rotation = await trx
        .insertInto("rotations")
        .values({
          name: "Demo primary",
          time_zone: "UTC",
          shift_count: 1,
          shift_unit: "week",
          start_at: startOfUtcWeek(options.now),
          participants: jsonb([...demoUserIds]),
          anchor: jsonb(null),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const policy = await trx
        .insertInto("escalation_policies")
        .values({ name: "Demo policy", repeat_count: 1 })
        .returning("id")
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("escalation_steps")
        .values([
          {
            policy_id: policy.id,
            position: 0,
            delay_seconds: 300,
            targets: jsonb([{ kind: "rotation", id: rotation.id }]),
          },
          {
            policy_id: policy.id,
            position: 1,
            delay_seconds: 300,
            targets: jsonb([{ kind: "user", id: demoUserIds[1] }]),
          },
        ])
        .execute();
      const service = await trx
        .insertInto("services")
        .values({ name: "Demo service", description: "Seeded by npm start", escalation_policy_id: policy.id })
        .returning("id")
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("settings")
        .values({ key: "demo", value: sql`${JSON.stringify({ serviceId: service.id })}::jsonb` })
        .execute();
      return service.id;
    });
  }

  if (options.seedDirectory !== false) await seedDemoDirectory(database, options.now, options.demoWebhookUrl);

  const key = await demoKey(options.demoIntegrationKey, keyFile);
  await db
    .insertInto("integration_keys")
    .values({
      service_id: serviceId,
      name: key.source === "env" ? "Demo key (ONCALL_DEMO_INTEGRATION_KEY)" : "Demo key",
      type: "universal",
      secret_hash: hashSecret(key.secret),
      secret_prefix: key.secret.slice(0, 10),
      rate_limit_per_minute: null,
      revoked_at: null,
      last_used_at: null,
    })
    .onConflict((oc) => oc.column("secret_hash").doNothing())
    .execute();
  return {
    serviceId,
    integrationKey: key.secret,
    integrationKeySource: key.source,
    integrationKeyFile: keyFile,
  };
}

/** The demo's people in the embedded directory, each as in the rotation. */
export const demoUsers = [
  { id: demoUserIds[0], name: "Alice Demo", email: "alice@example.com", timeZone: "Europe/Berlin" },
  { id: demoUserIds[1], name: "Bob Demo", email: "bob@example.com", timeZone: "America/New_York" },
] as const;

/**
 * Once per data folder (its own marker, so folders seeded before the directory existed get the
 * people too, and an operator's later deletions stick): Alice and Bob with a verified email each
 * (verified by the seed: the demo addresses receive nothing) and, when ONCALL_DEMO_WEBHOOK_URL is set,
 * a webhook contact method of Alice's to that local receiver.
 */
async function seedDemoDirectory(database: DatabaseHandle, now: Date, webhookUrl: string | undefined) {
  const { db } = database;
  const marker = await db
    .selectFrom("settings")
    .select("key")
    .where("key", "=", "demo_directory")
    .executeTakeFirst();
  if (marker) return;
  await db.transaction().execute(async (trx) => {
    for (const user of demoUsers) {
      await insertUser(trx, { ...user, slackUserId: "", teamsUserId: "" }, now);
      await insertContactMethod(
        trx,
        { userId: user.id, type: "email", name: "Email", value: user.email, verified: true, disabled: false },
        now,
      );
    }
    if (webhookUrl) {
      await insertContactMethod(
        trx,
        {
          userId: demoUsers[0].id,
          type: "webhook",
          name: "Local receiver",
          value: webhookUrl,
          verified: true,
          disabled: false,
        },
        now,
      );
    }
    await trx
      .insertInto("settings")
      .values({ key: "demo_directory", value: sql`${JSON.stringify({ users: demoUserIds })}::jsonb` })
      .execute();
  });
}

async function demoKey(
  fromEnv: string | undefined,
  file: string,
): Promise<{ secret: string; source: DemoSeed["integrationKeySource"] }> {
  if (fromEnv) return { secret: fromEnv, source: "env" };
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing) return { secret: existing, source: "file" };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const { secret } = newIntegrationSecret();
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { secret, source: "generated" };
}

function startOfUtcWeek(now: Date): Date {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 9));
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7)); // back to Monday 09:00 UTC
  return day;
}
