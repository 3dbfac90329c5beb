import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../test/support/app-context.ts";
import { openTestDatabase } from "../../test/support/databases.ts";
import {
  contactMethod,
  createHttpTestProviders,
  createMemoryDirectory,
  type Receiver,
  startReceiver,
  testDeliveryRuntime,
  user,
} from "../../test/support/delivery.ts";
import { attachPolicy, seedPolicy } from "../../test/support/seed-oncall.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { applySignals } from "../adapters/db/stores/alert-signals.ts";
import { listDeliveries } from "../adapters/db/stores/deliveries.ts";
import { openEscalations } from "../adapters/db/stores/escalations.ts";
import { createService } from "../adapters/db/stores/services.ts";
import { createFixedClock } from "../domain/clock.ts";
import { runEscalationStep } from "../domain/escalation/index.ts";
import { deliveryDepsOf, sendDueDeliveries } from "./deliveries.ts";
import { defaultDeliverySettings } from "./delivery-runtime.ts";
import { effectDepsOf } from "./effect-registry.ts";
import { runOwedEffectsOfAlerts } from "./effects.ts";
import { createEscalationStepPorts } from "./escalation-ports.ts";

// A storm: 200 alerts in one minute page one user by SMS. The cap (one SMS a minute per number) holds,
// what waited goes out as one bundle, and no alert is lost. PGlite only: 200 escalation steps on the
// emulated Data API take minutes and test nothing the other suite does not.
describe("throttling and bundling", () => {
  const clock = createFixedClock("2026-11-29T10:00:00Z");
  let handle: DatabaseHandle;
  let receiver: Receiver;

  beforeAll(async () => {
    handle = await openTestDatabase("pglite");
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await handle.close();
  });

  it("200 alerts in a minute for one user: one SMS a minute, the rest bundled, none lost", async () => {
    const db = handle.db;
    const ctx = createTestAppContext(handle, {
      clock,
      directory: createMemoryDirectory(
        [user("alice")],
        [contactMethod("alice", "sms", "sms", "+15550100001")],
      ),
      delivery: testDeliveryRuntime({
        providers: createHttpTestProviders(receiver.url),
        settings: { ...defaultDeliverySettings, consoleUrl: "https://oncall.example.com" },
      }),
    });
    const deps = { ...deliveryDepsOf(ctx), random: () => 0.5 };
    const service = (await createService(db, {
      name: "payments-api",
      description: "",
      escalationPolicyId: null,
      now: clock.now(),
    }))!.id;
    const policyId = await seedPolicy(db, [{ delaySeconds: 600, targets: [{ kind: "user", id: "alice" }] }]);
    await attachPolicy(db, service, policyId);
    const ports = createEscalationStepPorts({
      db,
      clock,
      notified: (ids) => runOwedEffectsOfAlerts(effectDepsOf(ctx), "notifications.deliver", ids),
    });
    const sentAt: number[] = [];
    const send = async () => {
      const before = receiver.requests.length;
      await sendDueDeliveries(deps, { limit: 500 });
      for (let i = before; i < receiver.requests.length; i++) sentAt.push(clock.now().getTime());
    };

    for (let i = 0; i < 200; i++) {
      const { results } = await applySignals(db, {
        serviceId: service,
        actor: "test",
        now: clock.now(),
        signals: [
          {
            action: "trigger",
            dedupKey: `storm-${i}`,
            summary: `Storm alert ${i}`,
            details: "",
            severity: "critical",
            source: "generic",
            labels: {},
            annotations: {},
          },
        ],
      });
      const alertId = results[0]!.alertId!;
      await openEscalations(db, { alertIds: [alertId], policyId, now: clock.now() });
      await runEscalationStep(ports, `alert-${alertId}`);
      await send();
      clock.advance(250); // 200 alerts in 50 s
    }
    for (let minute = 0; minute < 5; minute++) {
      clock.advance(60_000);
      await send();
    }

    const messages = receiver.requests.filter((r) => r.path.startsWith("/sms/"));
    expect(messages).toHaveLength(2);
    for (let i = 1; i < sentAt.length; i++)
      expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(60_000);
    expect((messages[0]!.json as { text: string }).text).toContain("Storm alert 0");
    // One message for the 199 that waited, with a link to them (the first of them in the console).
    const bundle = (messages[1]!.json as { text: string }).text;
    expect(bundle).toMatch(
      /^199 new alerts on payments-api, first: Storm alert 1 https:\/\/oncall\.example\.com\/alerts\/\d+$/,
    );
    const all = (await listDeliveries(db, { limit: 500 })).items;
    expect(all).toHaveLength(200);
    expect(all.every((d) => d.status === "sent")).toBe(true);
    expect(all.filter((d) => d.bundledInto !== null)).toHaveLength(198);
  }, 120_000);
});
