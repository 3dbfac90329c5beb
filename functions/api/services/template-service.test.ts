import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { beforeAll, beforeEach, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { loadDefaultTemplates } from "../../adapters/templates/default-templates.ts";
import { createTemplateUseCases } from "../../app/templates.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { sampleContext } from "../../domain/templates/index.ts";
import { ServiceService } from "../../gen/oncall/v1/services_pb.ts";
import { Channel, MessageKind, TemplateService } from "../../gen/oncall/v1/templates_pb.ts";

// TemplateService in memory (createRouterTransport, the real interceptors and stores) on every
// database path: PGlite, the Data API emulator, and Postgres when DATABASE_URL is set.

const missingId = "00000000-0000-4000-8000-000000000000";

const smsOnly = (text: string) => ({ sms: { text } });

describeEachDatabase("TemplateService", (suite) => {
  const clock = createFixedClock("2026-11-29T09:00:00Z");
  let templates: ReturnType<typeof createClient<typeof TemplateService>>;
  let services: ReturnType<typeof createClient<typeof ServiceService>>;

  beforeAll(() => {
    const transport = createInMemoryTransport(createTestAppContext(suite.handle, { clock }));
    templates = createClient(TemplateService, transport);
    services = createClient(ServiceService, transport);
  });

  beforeEach(async () => {
    await suite.handle.db.deleteFrom("template_pins").execute();
    await suite.handle.db.deleteFrom("templates").execute();
    await suite.handle.db.deleteFrom("services").execute();
  });

  const createSmsTemplate = (text: string, name = "Short SMS") =>
    templates.createTemplate(
      { name, kind: MessageKind.ALERT, variants: smsOnly(text), changeNote: "first" },
      admin,
    );

  it("creates version 1 live, appends versions, publishes and rolls back; past versions never change", async () => {
    const { template, version } = await createSmsTemplate("v1 {{alert.id}}");
    expect(template).toMatchObject({
      name: "Short SMS",
      kind: MessageKind.ALERT,
      liveVersion: 1,
      latestVersion: 1,
      builtin: false,
    });
    expect(version).toMatchObject({ version: 1, author: "admin", changeNote: "first" });
    const id = template!.id;

    clock.advance(60_000);
    const updated = await templates.updateTemplate(
      { id, variants: smsOnly("v2 {{alert.id}}"), changeNote: "shorter" },
      admin,
    );
    expect(updated.template).toMatchObject({ liveVersion: 1, latestVersion: 2 });
    expect(updated.version).toMatchObject({ version: 2, changeNote: "shorter" });

    const preview = (version: number) =>
      templates
        .renderPreview(
          { source: { case: "template", value: { id, version } }, channels: [Channel.SMS] },
          admin,
        )
        .then((r) => [r.version, r.renderings[0]!.parts[0]!.content]);
    expect(await preview(0)).toEqual([1, "v1 4217"]); // live is still 1
    expect(await preview(2)).toEqual([2, "v2 4217"]);

    await templates.publishTemplateVersion({ id, version: 2 }, admin);
    expect(await preview(0)).toEqual([2, "v2 4217"]);
    await templates.updateTemplate({ id, variants: smsOnly("v3"), publish: true }, admin);
    expect(await preview(0)).toEqual([3, "v3"]);
    await templates.publishTemplateVersion({ id, version: 1 }, admin); // rollback
    expect(await preview(0)).toEqual([1, "v1 4217"]);
    expect(await preview(2)).toEqual([2, "v2 4217"]);

    const { versions } = await templates.listTemplateVersions({ id }, admin);
    expect(versions.map((v) => [v.version, v.variants?.sms?.text])).toEqual([
      [3, "v3"],
      [2, "v2 {{alert.id}}"],
      [1, "v1 {{alert.id}}"],
    ]);
    const got = await templates.getTemplate({ id, version: 2 }, admin);
    expect(got.version?.variants?.sms?.text).toBe("v2 {{alert.id}}");

    // The database itself refuses to change a version.
    await expect(
      sql`update template_versions set variants = '{}'::jsonb where template_id = ${id}::uuid`.execute(
        suite.handle.db,
      ),
    ).rejects.toThrow(/immutable/);

    const bad = await failure(templates.publishTemplateVersion({ id, version: 9 }, admin));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.message).toMatch(/version: must be from 1 to 3/);
  });

  it("refuses a template that does not compile, naming the part, line and column; nothing is saved", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        smsOnly("ok\n  {{shout alert.summary}}"),
        /variants\.sms\.text: line 2, column 5: unknown helper "shout"/,
      ],
      [
        smsOnly("{{alert.constructor}}"),
        /variants\.sms\.text: line 1, column 3: prototype access is not allowed/,
      ],
      [
        smsOnly("x".repeat(64 * 1024 + 1)),
        /variants\.sms\.text: is 65537 bytes; a template part is at most 65536/,
      ],
      [
        { webhook: { body: '{"a": {{{alert.summary}}} }' } },
        /variants\.webhook\.body: rendered output line 1, column 7: renders invalid JSON/,
      ],
      [{}, /variants: set at least one channel/],
    ];
    for (const [variants, message] of cases) {
      const error = await failure(
        templates.createTemplate({ name: "Bad", kind: MessageKind.ALERT, variants }, admin),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toMatch(message);
    }
    const { id } = (await createSmsTemplate("ok")).template!;
    const error = await failure(templates.updateTemplate({ id, variants: smsOnly("{{#each}}") }, admin));
    expect(error.code).toBe(Code.InvalidArgument);
    expect((await templates.getTemplate({ id }, admin)).template?.latestVersion).toBe(1);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from templates`.execute(
      suite.handle.db,
    );
    expect(rows[0]!.n).toBe(1);
  });

  it("validates a draft, listing every problem with its place", async () => {
    const result = await templates.validateTemplate(
      {
        kind: MessageKind.ALERT,
        variants: {
          sms: { text: "{{shout 1}} {{alert.nope}}" },
          slack: { blocks: '{"text": "x"}', text: "x" },
        },
      },
      admin,
    );
    expect(result.valid).toBe(false);
    expect(result.errors.map((e) => [e.part, e.line, e.column, e.message.slice(0, 24)])).toEqual([
      ["sms.text", 1, 3, 'unknown helper "shout"; '],
      ["sms.text", 1, 15, 'unknown variable "alert.'],
    ]);
    const ok = await templates.validateTemplate(
      {
        kind: MessageKind.ALERT,
        variants: { sms: { text: "{{#each bundle.alerts}}{{summary}}{{/each}}".repeat(40) } },
      },
      admin,
    );
    expect(ok).toMatchObject({ valid: true, errors: [] });
  });

  it("previews the default template on every channel, a draft, and a real alert", async () => {
    const all = await templates.renderPreview(
      { source: { case: "template", value: { id: "default-alert" } } },
      admin,
    );
    expect(all.renderings.map((r) => r.channel)).toEqual([
      Channel.SLACK,
      Channel.TEAMS,
      Channel.EMAIL,
      Channel.SMS,
      Channel.VOICE,
      Channel.WEBHOOK,
    ]);
    for (const r of all.renderings) expect(r.errors).toEqual([]);
    const slack = all.renderings[0]!;
    expect(JSON.parse(slack.parts[0]!.content).blocks.length).toBeGreaterThan(2);
    expect(slack.plainText).toContain("High error rate on payments-api");
    expect(all.renderings[3]).toMatchObject({ smsSegments: 1, smsEncoding: "GSM-7" });

    const draft = await templates.renderPreview(
      {
        source: {
          case: "draft",
          value: { kind: MessageKind.ALERT, variants: smsOnly('{{formatTime alert.createdAt "HH:mm"}}') },
        },
        channels: [Channel.SMS, Channel.VOICE],
        timeZone: "America/New_York",
      },
      admin,
    );
    expect(draft.renderings.map((r) => [r.fromDefault, r.parts[0]!.content.slice(0, 16)])).toEqual([
      [false, "04:12"],
      [true, "This is on call."],
    ]);

    const { service } = await services.createService({ name: "checkout" }, admin);
    const { rows } = await sql<{ id: number }>`
      insert into alerts (service_id, dedup_key, status, severity, summary, source, labels)
      values (${service!.id}::uuid, 'k', 'triggered', 'warning', 'Disk "full" </script>', 'generic', '{"team": "a\\"b"}'::jsonb)
      returning id
    `.execute(suite.handle.db);
    const real = await templates.renderPreview(
      {
        source: { case: "template", value: { id: "default-alert" } },
        alertId: BigInt(rows[0]!.id),
        channels: [Channel.WEBHOOK],
      },
      admin,
    );
    const body = JSON.parse(real.renderings[0]!.parts[0]!.content);
    expect(body.alert).toMatchObject({
      id: rows[0]!.id,
      summary: 'Disk "full" </script>',
      labels: { team: 'a"b' },
    });
    expect(body.service.name).toBe("checkout");

    const missing = await failure(
      templates.renderPreview(
        { source: { case: "template", value: { id: "default-alert" } }, alertId: 999999n },
        admin,
      ),
    );
    expect(missing.code).toBe(Code.NotFound);
    const noSource = await failure(templates.renderPreview({}, admin));
    expect(noSource.message).toMatch(/^\[invalid_argument\] source:/);
    const badZone = await failure(
      templates.renderPreview(
        { source: { case: "template", value: { id: "default-alert" } }, timeZone: "Mars/Base" },
        admin,
      ),
    );
    expect(badZone.message).toMatch(/time_zone: must be an IANA time zone/);
  });

  it("pins a template to a service; a pinned template cannot be deleted", async () => {
    const { service } = await services.createService({ name: "payments" }, admin);
    const { template } = await createSmsTemplate("pinned");
    const id = template!.id;
    await templates.pinTemplate({ serviceId: service!.id, templateId: id }, admin);
    expect((await templates.getTemplate({ id }, admin)).template?.pinnedServiceIds).toEqual([service!.id]);

    const refused = await failure(templates.deleteTemplate({ id }, admin));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.message).toContain(service!.id);

    await templates.unpinTemplate({ serviceId: service!.id, kind: MessageKind.ALERT }, admin);
    await templates.deleteTemplate({ id }, admin);
    expect((await failure(templates.getTemplate({ id }, admin))).code).toBe(Code.NotFound);
    expect(
      (await failure(templates.pinTemplate({ serviceId: service!.id, templateId: id }, admin))).code,
    ).toBe(Code.NotFound);
    const { template: other } = await createSmsTemplate("other");
    expect(
      (await failure(templates.pinTemplate({ serviceId: missingId, templateId: other!.id }, admin))).code,
    ).toBe(Code.NotFound);
  });

  it("lists built-in templates first, then saved ones by name, in pages; built-ins are read-only", async () => {
    await createSmsTemplate("b", "Beta");
    await createSmsTemplate("a", "alpha");
    const first = await templates.listTemplates({ kind: MessageKind.ALERT, pageSize: 2 }, admin);
    expect(first.templates.map((t) => (t.id.startsWith("default-") ? t.id : t.name))).toEqual([
      "default-alert",
      "alpha",
    ]);
    const second = await templates.listTemplates(
      { kind: MessageKind.ALERT, pageSize: 2, pageToken: first.nextPageToken },
      admin,
    );
    expect(second.templates.map((t) => t.name)).toEqual(["Beta"]);
    const all = await templates.listTemplates({}, admin);
    expect(all.templates.filter((t) => t.builtin).map((t) => t.id)).toEqual([
      "default-alert",
      "default-status-update",
      "default-bundle",
      "default-handoff",
    ]);
    const builtin = await templates.getTemplate({ id: "default-handoff" }, admin);
    expect(builtin.version?.variants?.slack?.blocks).toContain('"blocks"');
    expect((await failure(templates.updateTemplate({ id: "default-alert", name: "x" }, admin))).code).toBe(
      Code.FailedPrecondition,
    );
    expect((await failure(templates.deleteTemplate({ id: "default-alert" }, admin))).code).toBe(
      Code.FailedPrecondition,
    );
    expect((await failure(templates.getTemplate({ id: "nope" }, admin))).message).toMatch(
      /^\[invalid_argument\] id:/,
    );
    expect((await failure(templates.getTemplate({ id: missingId }, admin))).code).toBe(Code.NotFound);
  });

  it("gives a delivery the pinned template's live version, else the default (templateFor)", async () => {
    const useCases = createTemplateUseCases({
      db: () => suite.handle.db,
      clock,
      defaults: () => loadDefaultTemplates(),
    });
    const { service } = await services.createService({ name: "payments" }, admin);
    const unpinned = await useCases.templateFor(service!.id, "alert");
    expect([unpinned.templateId, unpinned.version]).toEqual(["default-alert", 1]);

    const { template } = await createSmsTemplate("pinned v1 {{alert.id}}");
    await templates.pinTemplate({ serviceId: service!.id, templateId: template!.id }, admin);
    await templates.updateTemplate(
      { id: template!.id, variants: smsOnly("pinned v2"), publish: true },
      admin,
    );
    const pinned = await useCases.templateFor(service!.id, "alert");
    expect([pinned.templateId, pinned.version]).toEqual([template!.id, 2]);
    const [sms, voice] = useCases.render(pinned.template, sampleContext("alert"), ["sms", "voice"]);
    expect([sms!.parts[0]!.content, sms!.fromDefault, voice!.fromDefault]).toEqual([
      "pinned v2",
      false,
      true,
    ]);
    // Other kinds are not pinned: their default.
    expect((await useCases.templateFor(service!.id, "bundle")).templateId).toBe("default-bundle");
  });
});
