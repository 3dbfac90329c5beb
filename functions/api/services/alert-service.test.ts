import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import { admin, bearer, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import type { DatabaseHandle } from "../../adapters/db/database.ts";
import { createFixedClock } from "../../domain/clock.ts";
import {
  type Alert,
  AlertService,
  AlertStatus,
  ListAlertsRequestSchema,
  Severity,
} from "../../gen/oncall/v1/alerts_pb.ts";
import { ApiKeyScope, ApiKeyService } from "../../gen/oncall/v1/api_keys_pb.ts";
import { ServiceService } from "../../gen/oncall/v1/services_pb.ts";

// AlertService in memory: the real router, interceptors and stores, on a PGlite clone.
const start = "2026-11-27T12:00:00Z";
const clock = createFixedClock(start);
let database: DatabaseHandle;
let alerts: ReturnType<typeof createClient<typeof AlertService>>;
let services: ReturnType<typeof createClient<typeof ServiceService>>;
let apiKeys: ReturnType<typeof createClient<typeof ApiKeyService>>;
let checkout: string;
let search: string;

const missingService = "00000000-0000-4000-8000-000000000000";
type ListRequest = MessageInitShape<typeof ListAlertsRequestSchema>;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const ctx = createTestAppContext(database, { clock });
  const transport = createInMemoryTransport(ctx);
  alerts = createClient(AlertService, transport);
  services = createClient(ServiceService, transport);
  apiKeys = createClient(ApiKeyService, transport);
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  await database.db.deleteFrom("api_keys").execute();
  clock.set(start);
  checkout = (await services.createService({ name: "checkout" }, admin)).service!.id;
  search = (await services.createService({ name: "search" }, admin)).service!.id;
});

async function expectInvalid(call: Promise<unknown>, field: string): Promise<void> {
  const error = await failure(call);
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.rawMessage.startsWith(`${field}: `)).toBe(true);
}

async function raise(
  summary: string,
  extra: Partial<{
    serviceId: string;
    severity: Severity;
    labels: Record<string, string>;
    dedupKey: string;
  }> = {},
): Promise<Alert> {
  const { alert } = await alerts.createAlert({ serviceId: checkout, summary, ...extra }, admin);
  return alert!;
}

const events = async (alertId: bigint) =>
  (await alerts.listAlertEvents({ alertId }, admin)).events.map((e) => [e.type, e.actor, e.message]);

describe("CreateAlert and GetAlert", () => {
  it("opens a manual alert and reads it back", async () => {
    const { alert, created } = await alerts.createAlert(
      {
        serviceId: checkout,
        summary: "  payment provider down ",
        details: "**all** card payments fail",
        severity: Severity.CRITICAL,
        labels: { team: "payments", region: "eu" },
      },
      admin,
    );
    expect(created).toBe(true);
    expect(alert).toMatchObject({
      serviceId: checkout,
      status: AlertStatus.TRIGGERED,
      severity: Severity.CRITICAL,
      summary: "payment provider down",
      details: "**all** card payments fail",
      source: "manual",
      labels: { team: "payments", region: "eu" },
      annotations: {},
      duplicateCount: 0n,
    });
    expect(alert?.dedupKey).toMatch(/^manual:[0-9a-f-]{36}$/);
    expect(alert?.createTime).toEqual(timestampFromDate(new Date(start)));
    expect(alert?.acknowledgeTime).toBeUndefined();

    expect((await alerts.getAlert({ id: alert!.id }, admin)).alert).toEqual(alert);
    expect(await events(alert!.id)).toEqual([["created", "admin", ""]]);
  });

  it("defaults the severity to error and gives each alert without a dedup key its own key", async () => {
    const a = await raise("one");
    const b = await raise("one");
    expect(a.severity).toBe(Severity.ERROR);
    expect(a.id).not.toBe(b.id);
  });

  it("deduplicates the same dedup key: created=false and duplicate_count 1", async () => {
    const first = await alerts.createAlert(
      { serviceId: checkout, summary: "disk full", dedupKey: "disk-1" },
      admin,
    );
    clock.advance(30_000);
    const second = await alerts.createAlert(
      { serviceId: checkout, summary: "disk full", dedupKey: "disk-1", labels: { host: "db1" } },
      admin,
    );
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.alert?.id).toBe(first.alert?.id);
    expect(second.alert?.duplicateCount).toBe(1n);
    expect(second.alert?.labels).toEqual({ host: "db1" });
    expect(second.alert?.lastSeenTime).toEqual(timestampFromDate(new Date(Date.parse(start) + 30_000)));
    expect(await events(first.alert!.id)).toEqual([
      ["created", "admin", ""],
      ["duplicate_suppressed", "admin", ""],
    ]);

    // The same key on another service is another alert; after resolve the key opens a new one.
    expect(
      (await alerts.createAlert({ serviceId: search, summary: "disk full", dedupKey: "disk-1" }, admin))
        .created,
    ).toBe(true);
    await alerts.resolveAlert({ id: first.alert!.id }, admin);
    const reopened = await alerts.createAlert(
      { serviceId: checkout, summary: "disk full", dedupKey: "disk-1" },
      admin,
    );
    expect(reopened.created).toBe(true);
    expect(reopened.alert?.id).not.toBe(first.alert?.id);
  });

  it.each([
    ["a malformed service id", { serviceId: "checkout", summary: "s" }, "service_id"],
    ["no service id", { serviceId: "", summary: "s" }, "service_id"],
    ["a blank summary", { summary: "  " }, "summary"],
    ["a summary over 1024 characters", { summary: "s".repeat(1025) }, "summary"],
    ["details over 64 KiB", { summary: "s", details: "d".repeat(64 * 1024 + 1) }, "details"],
    ["an unknown severity", { summary: "s", severity: 9 as Severity }, "severity"],
    ["a dedup key over 255 characters", { summary: "s", dedupKey: "k".repeat(256) }, "dedup_key"],
    [
      "129 labels",
      { summary: "s", labels: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`l${i}`, "v"])) },
      "labels",
    ],
    [
      "a label value over 4096 characters",
      { summary: "s", labels: { team: "v".repeat(4097) } },
      "labels.team",
    ],
    ["a NUL in a label", { summary: "s", labels: { team: "a\u0000b" } }, "labels.team"],
  ])("refuses %s with invalid_argument naming the field", async (_label, request, field) => {
    await expectInvalid(alerts.createAlert({ serviceId: checkout, ...request }, admin), field);
  });

  it("answers not_found for an unknown service or alert, invalid_argument for a bad id", async () => {
    const error = await failure(alerts.createAlert({ serviceId: missingService, summary: "s" }, admin));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain(missingService);
    expect((await failure(alerts.getAlert({ id: 999_999n }, admin))).code).toBe(Code.NotFound);
    await expectInvalid(alerts.getAlert({ id: 0n }, admin), "id");
    await expectInvalid(alerts.getAlert({ id: -4n }, admin), "id");
    await expectInvalid(alerts.getAlert({ id: 2n ** 60n }, admin), "id");
    expect(await database.db.selectFrom("alerts").select("id").execute()).toEqual([]);
  });
});

describe("acknowledge, resolve and notes", () => {
  it("acknowledges and resolves idempotently, one event per change", async () => {
    const alert = await raise("queue backlog");
    clock.advance(60_000);
    const ack = (await alerts.acknowledgeAlert({ id: alert.id }, admin)).alert!;
    expect(ack.status).toBe(AlertStatus.ACKNOWLEDGED);
    expect(ack.acknowledgeTime).toEqual(timestampFromDate(clock.now()));

    clock.advance(60_000);
    const ackAgain = (await alerts.acknowledgeAlert({ id: alert.id }, admin)).alert!;
    expect(ackAgain).toEqual(ack);

    const resolved = (await alerts.resolveAlert({ id: alert.id }, admin)).alert!;
    expect(resolved.status).toBe(AlertStatus.RESOLVED);
    expect(resolved.resolveTime).toEqual(timestampFromDate(clock.now()));
    expect(resolved.acknowledgeTime).toEqual(ack.acknowledgeTime);

    clock.advance(60_000);
    expect((await alerts.resolveAlert({ id: alert.id }, admin)).alert).toEqual(resolved);
    // Acknowledging a resolved alert changes nothing either.
    expect((await alerts.acknowledgeAlert({ id: alert.id }, admin)).alert).toEqual(resolved);

    const log = (await alerts.listAlertEvents({ alertId: alert.id }, admin)).events;
    expect(log.map((e) => [e.type, e.actor])).toEqual([
      ["created", "admin"],
      ["acknowledged", "admin"],
      ["resolved", "admin"],
    ]);
    expect(log[1]?.createTime).toEqual(ack.acknowledgeTime);
    expect(log[2]?.createTime).toEqual(resolved.resolveTime);
  });

  it("resolves a triggered alert without acknowledging it", async () => {
    const alert = await raise("flapping");
    const resolved = (await alerts.resolveAlert({ id: alert.id }, admin)).alert!;
    expect(resolved.status).toBe(AlertStatus.RESOLVED);
    expect(resolved.acknowledgeTime).toBeUndefined();
  });

  it("records the API key as the actor", async () => {
    const { key, secret } = await apiKeys.createApiKey({ name: "bot", scope: ApiKeyScope.READ_WRITE }, admin);
    const alert = (await alerts.createAlert({ serviceId: checkout, summary: "by bot" }, bearer(secret)))
      .alert!;
    await alerts.acknowledgeAlert({ id: alert.id }, bearer(secret));
    const { event } = await alerts.addNote({ alertId: alert.id, text: "looking" }, bearer(secret));
    expect(event?.actor).toBe(`api_key:${key!.id}`);
    expect((await events(alert.id)).map(([type, actor]) => [type, actor])).toEqual([
      ["created", `api_key:${key!.id}`],
      ["acknowledged", `api_key:${key!.id}`],
      ["note_added", `api_key:${key!.id}`],
    ]);
  });

  it("adds notes to the event log", async () => {
    const alert = await raise("latency");
    clock.advance(1_000);
    const { event } = await alerts.addNote({ alertId: alert.id, text: "  rolled back deploy 42  " }, admin);
    expect(event).toMatchObject({
      alertId: alert.id,
      type: "note_added",
      actor: "admin",
      message: "rolled back deploy 42",
    });
    expect(event?.createTime).toEqual(timestampFromDate(clock.now()));
    expect(await events(alert.id)).toEqual([
      ["created", "admin", ""],
      ["note_added", "admin", "rolled back deploy 42"],
    ]);

    expect((await failure(alerts.addNote({ alertId: 999_999n, text: "x" }, admin))).code).toBe(Code.NotFound);
    await expectInvalid(alerts.addNote({ alertId: alert.id, text: " " }, admin), "text");
    await expectInvalid(alerts.addNote({ alertId: 0n, text: "x" }, admin), "alert_id");
    await expectInvalid(
      alerts.addNote({ alertId: alert.id, text: "x".repeat(16 * 1024 + 1) }, admin),
      "text",
    );
  });

  it("pages through an alert's events oldest first", async () => {
    const alert = await raise("noisy");
    for (let i = 1; i <= 6; i++) await alerts.addNote({ alertId: alert.id, text: `note ${i}` }, admin);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await alerts.listAlertEvents({ alertId: alert.id, pageSize: 3, pageToken }, admin);
      expect(page.events.length).toBeLessThanOrEqual(3);
      seen.push(...page.events.map((e) => e.message || e.type));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(["created", "note 1", "note 2", "note 3", "note 4", "note 5", "note 6"]);

    expect((await failure(alerts.listAlertEvents({ alertId: 999_999n }, admin))).code).toBe(Code.NotFound);
    const other = await raise("other");
    const first = await alerts.listAlertEvents({ alertId: alert.id, pageSize: 1 }, admin);
    await expectInvalid(
      alerts.listAlertEvents({ alertId: other.id, pageToken: first.nextPageToken }, admin),
      "page_token",
    );
  });

  it("answers not_found when acknowledging or resolving an unknown alert", async () => {
    expect((await failure(alerts.acknowledgeAlert({ id: 424_242n }, admin))).code).toBe(Code.NotFound);
    expect((await failure(alerts.resolveAlert({ id: 424_242n }, admin))).code).toBe(Code.NotFound);
    await expectInvalid(alerts.resolveAlert({ id: 0n }, admin), "id");
  });
});

describe("bulk acknowledge and resolve", () => {
  it("changes only the alerts that can change, in one call, with an event each", async () => {
    const [a, b, c, d] = [await raise("a"), await raise("b"), await raise("c"), await raise("d")];
    await alerts.resolveAlert({ id: c!.id }, admin);

    const acked = await alerts.bulkAcknowledgeAlerts({ ids: [a!.id, b!.id, c!.id, b!.id, 987_654n] }, admin);
    expect(acked.acknowledgedIds).toEqual([a!.id, b!.id]);
    expect((await alerts.bulkAcknowledgeAlerts({ ids: [a!.id, b!.id] }, admin)).acknowledgedIds).toEqual([]);

    const resolved = await alerts.bulkResolveAlerts({ ids: [a!.id, c!.id, d!.id] }, admin);
    expect(resolved.resolvedIds).toEqual([a!.id, d!.id]);
    expect((await alerts.bulkResolveAlerts({ ids: [a!.id, d!.id] }, admin)).resolvedIds).toEqual([]);

    const statuses = await Promise.all(
      [a, b, c, d].map(async (x) => (await alerts.getAlert({ id: x!.id }, admin)).alert!.status),
    );
    expect(statuses).toEqual([
      AlertStatus.RESOLVED,
      AlertStatus.ACKNOWLEDGED,
      AlertStatus.RESOLVED,
      AlertStatus.RESOLVED,
    ]);
    expect((await events(a!.id)).map(([type]) => type)).toEqual(["created", "acknowledged", "resolved"]);
    expect((await events(b!.id)).map(([type]) => type)).toEqual(["created", "acknowledged"]);
    expect((await events(c!.id)).map(([type]) => type)).toEqual(["created", "resolved"]);
    expect((await events(d!.id)).map(([type]) => type)).toEqual(["created", "resolved"]);
  });

  it.each([
    ["no ids", [], "ids"],
    ["a zero id", [1n, 0n], "ids[1]"],
    ["a negative id", [-1n], "ids[0]"],
    ["1001 ids", Array.from({ length: 1001 }, (_, i) => BigInt(i + 1)), "ids"],
  ])("refuses %s", async (_label, ids, field) => {
    await expectInvalid(alerts.bulkAcknowledgeAlerts({ ids }, admin), field);
    await expectInvalid(alerts.bulkResolveAlerts({ ids }, admin), field);
  });
});

describe("ListAlerts", () => {
  // Six alerts, one minute apart: [summary, service, severity, labels, final status].
  let ids: Record<string, bigint>;
  beforeEach(async () => {
    ids = {};
    const fixtures: [string, "checkout" | "search", Severity, Record<string, string>, "t" | "a" | "r"][] = [
      ["CPU hot on web-1", "checkout", Severity.WARNING, { team: "web", env: "prod" }, "t"],
      ["Disk 95% full", "checkout", Severity.CRITICAL, { team: "storage", env: "prod" }, "a"],
      ["disk_io slow", "search", Severity.WARNING, { team: "storage", env: "staging" }, "t"],
      ["Index lagging", "search", Severity.ERROR, { team: "search", env: "prod" }, "r"],
      ["CPU hot on web-2", "checkout", Severity.INFO, { team: "web", env: "staging" }, "t"],
      ["Certificate expires", "search", Severity.CRITICAL, {}, "a"],
    ];
    for (const [summary, svc, severity, labels, status] of fixtures) {
      const alert = await raise(summary, {
        serviceId: svc === "checkout" ? checkout : search,
        severity,
        labels,
      });
      ids[summary] = alert.id;
      if (status === "a") await alerts.acknowledgeAlert({ id: alert.id }, admin);
      if (status === "r") await alerts.resolveAlert({ id: alert.id }, admin);
      clock.advance(60_000);
    }
  });

  const list = async (request: ListRequest) =>
    (await alerts.listAlerts(create(ListAlertsRequestSchema, request), admin)).alerts.map((a) => a.summary);
  const at = (minutes: number) => timestampFromDate(new Date(Date.parse(start) + minutes * 60_000));

  it("lists everything newest first without filters", async () => {
    expect(await list({})).toEqual([
      "Certificate expires",
      "CPU hot on web-2",
      "Index lagging",
      "disk_io slow",
      "Disk 95% full",
      "CPU hot on web-1",
    ]);
  });

  it.each<[string, ListRequest, string[]]>([
    [
      "statuses",
      { statuses: [AlertStatus.TRIGGERED] },
      ["CPU hot on web-2", "disk_io slow", "CPU hot on web-1"],
    ],
    [
      "several statuses",
      { statuses: [AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED] },
      ["Certificate expires", "Index lagging", "Disk 95% full"],
    ],
    ["severities", { severities: [Severity.CRITICAL] }, ["Certificate expires", "Disk 95% full"]],
    ["a label selector", { labelSelector: { team: "storage" } }, ["disk_io slow", "Disk 95% full"]],
    ["a two-label selector", { labelSelector: { team: "web", env: "prod" } }, ["CPU hot on web-1"]],
    ["a label selector nothing matches", { labelSelector: { team: "nobody" } }, []],
    ["created_after (inclusive)", { createdAfter: at(4) }, ["Certificate expires", "CPU hot on web-2"]],
    ["created_before (exclusive)", { createdBefore: at(1) }, ["CPU hot on web-1"]],
    ["a time range", { createdAfter: at(1), createdBefore: at(3) }, ["disk_io slow", "Disk 95% full"]],
    ["a case-insensitive search", { search: "cpu HOT" }, ["CPU hot on web-2", "CPU hot on web-1"]],
    ["a search with a literal %", { search: "95% F" }, ["Disk 95% full"]],
    ["a search where % is no wildcard", { search: "9%f" }, []],
    ["a search with a literal _", { search: "k_" }, ["disk_io slow"]],
  ])("filters by %s", async (_label, request, expected) => {
    expect(await list(request)).toEqual(expected);
  });

  it("filters by service ids", async () => {
    expect(await list({ serviceIds: [search] })).toEqual([
      "Certificate expires",
      "Index lagging",
      "disk_io slow",
    ]);
    expect(await list({ serviceIds: [search, checkout] })).toHaveLength(6);
    expect(await list({ serviceIds: [missingService] })).toEqual([]);
  });

  it("combines filters", async () => {
    expect(
      await list({
        statuses: [AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED],
        serviceIds: [checkout],
        severities: [Severity.WARNING, Severity.CRITICAL, Severity.INFO],
        labelSelector: { env: "prod" },
      }),
    ).toEqual(["Disk 95% full", "CPU hot on web-1"]);
    expect(
      await list({
        serviceIds: [checkout],
        search: "cpu",
        createdAfter: at(1),
        statuses: [AlertStatus.TRIGGERED],
      }),
    ).toEqual(["CPU hot on web-2"]);
    expect(
      await list({ severities: [Severity.WARNING], labelSelector: { env: "staging" }, search: "disk" }),
    ).toEqual(["disk_io slow"]);
    expect(await list({ severities: [Severity.ERROR], statuses: [AlertStatus.TRIGGERED] })).toEqual([]);
  });

  it.each<[string, ListRequest, string]>([
    ["an unspecified status", { statuses: [AlertStatus.TRIGGERED, AlertStatus.UNSPECIFIED] }, "statuses[1]"],
    ["an unknown severity", { severities: [7 as Severity] }, "severities[0]"],
    ["a malformed service id", { serviceIds: [missingService, "search"] }, "service_ids[1]"],
    ["an empty label name", { labelSelector: { "": "x" } }, "label_selector"],
    ["an inverted time range", { createdAfter: at(3), createdBefore: at(2) }, "created_before"],
    ["a negative page size", { pageSize: -5 }, "page_size"],
    ["a garbage page token", { pageToken: "!!!" }, "page_token"],
    ["a page token that is not JSON", { pageToken: Buffer.from("nope").toString("base64url") }, "page_token"],
    [
      "a page token for another list",
      { pageToken: Buffer.from(JSON.stringify({ k: "services", c: 5, f: "x" })).toString("base64url") },
      "page_token",
    ],
  ])("refuses %s with invalid_argument naming the field", async (_label, request, field) => {
    await expectInvalid(alerts.listAlerts(create(ListAlertsRequestSchema, request), admin), field);
  });

  it("pages over more than one page with no duplicates or gaps, even while alerts arrive", async () => {
    for (let i = 0; i < 17; i++) await raise(`bulk ${i}`, { labels: { batch: "b" } });
    const expected = (await alerts.listAlerts({ pageSize: 500 }, admin)).alerts.map((a) => a.id);
    expect(expected).toHaveLength(23);
    expect([...expected].sort((x, y) => (x < y ? 1 : -1))).toEqual(expected);

    const seen: bigint[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await alerts.listAlerts({ pageSize: 5, pageToken }, admin);
      expect(page.alerts.length).toBeLessThanOrEqual(5);
      seen.push(...page.alerts.map((a) => a.id));
      pageToken = page.nextPageToken;
      // A new alert during paging appears on no later page (it is newer than the cursor).
      if (pages++ === 1) await raise("arrived while paging");
    } while (pageToken);
    expect(pages).toBe(5);
    expect(seen).toEqual(expected);

    // Filtered paging: 17 labelled alerts in pages of 10.
    const first = await alerts.listAlerts({ labelSelector: { batch: "b" }, pageSize: 10 }, admin);
    const second = await alerts.listAlerts(
      { labelSelector: { batch: "b" }, pageSize: 10, pageToken: first.nextPageToken },
      admin,
    );
    expect(first.alerts).toHaveLength(10);
    expect(second.alerts).toHaveLength(7);
    expect(second.nextPageToken).toBe("");
    expect(new Set([...first.alerts, ...second.alerts].map((a) => a.summary)).size).toBe(17);

    // The token belongs to its filters.
    await expectInvalid(
      alerts.listAlerts(
        { labelSelector: { batch: "c" }, pageSize: 10, pageToken: first.nextPageToken },
        admin,
      ),
      "page_token",
    );
  });

  it("uses 50 as the default page size and lowers sizes above 500", async () => {
    for (let i = 0; i < 50; i++) await raise(`more ${i}`);
    const page = await alerts.listAlerts({}, admin);
    expect(page.alerts).toHaveLength(50);
    expect(page.nextPageToken).not.toBe("");
    expect((await alerts.listAlerts({ pageSize: 100_000 }, admin)).alerts).toHaveLength(56);
  });
});

describe("authorization", () => {
  it("lets a read-only key list and read, and refuses every write with permission_denied", async () => {
    const alert = await raise("read me");
    const { secret } = await apiKeys.createApiKey({ name: "grafana panel", scope: ApiKeyScope.READ }, admin);
    const reader = bearer(secret);

    expect((await alerts.listAlerts({}, reader)).alerts.map((a) => a.id)).toEqual([alert.id]);
    expect((await alerts.getAlert({ id: alert.id }, reader)).alert?.summary).toBe("read me");
    expect((await alerts.listAlertEvents({ alertId: alert.id }, reader)).events).toHaveLength(1);

    const writes: [string, () => Promise<unknown>][] = [
      ["CreateAlert", () => alerts.createAlert({ serviceId: checkout, summary: "x" }, reader)],
      ["AcknowledgeAlert", () => alerts.acknowledgeAlert({ id: alert.id }, reader)],
      ["ResolveAlert", () => alerts.resolveAlert({ id: alert.id }, reader)],
      ["AddNote", () => alerts.addNote({ alertId: alert.id, text: "x" }, reader)],
      ["BulkAcknowledgeAlerts", () => alerts.bulkAcknowledgeAlerts({ ids: [alert.id] }, reader)],
      ["BulkResolveAlerts", () => alerts.bulkResolveAlerts({ ids: [alert.id] }, reader)],
    ];
    for (const [name, call] of writes) {
      const error = await failure(call());
      expect([name, error.code]).toEqual([name, Code.PermissionDenied]);
    }
    expect((await alerts.getAlert({ id: alert.id }, admin)).alert?.status).toBe(AlertStatus.TRIGGERED);
    expect(await events(alert.id)).toEqual([["created", "admin", ""]]);
  });

  it("refuses a missing, wrong or revoked token with unauthenticated", async () => {
    const { key, secret } = await apiKeys.createApiKey({ name: "old", scope: ApiKeyScope.READ_WRITE }, admin);
    expect((await alerts.listAlerts({}, bearer(secret))).alerts).toEqual([]);
    await apiKeys.revokeApiKey({ id: key!.id }, admin);
    for (const options of [{}, bearer("wrong"), bearer(`${secret}x`), bearer(secret)]) {
      expect((await failure(alerts.listAlerts({}, options))).code).toBe(Code.Unauthenticated);
    }
  });
});
