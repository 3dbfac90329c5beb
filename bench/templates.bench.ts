// Template rendering. (1) Each channel of the default alert template, compiled, per render, against
// a baseline measured in the same run: JSON.stringify of the same render context (the least any
// renderer must do: walk the context and write text). (2) RenderPreview of all six channels end to
// end through the RPC, over the real local HTTP server with the gRPC-web client (what buf curl and
// a console's editor use), for the default template (no database) and for a saved template (one
// live-version read), against WhoAmI through the same server (auth, routing, framing: the floor of
// any RPC). Rounds alternate the two sides; medians are printed. Goals (issue 11): ≤ 100 µs per
// channel render, ≤ 5 ms per all-channel preview.
//
//   node bench/templates.bench.ts            (npm run bench runs every benchmark)
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

const { createClient } = await import("@connectrpc/connect");
const { createGrpcWebTransport } = await import("@connectrpc/connect-node");
const { loadDefaultTemplates } = await import("../functions/adapters/templates/default-templates.ts");
const { channels, compileTemplate, renderChannels, sampleContext } = await import(
  "../functions/domain/templates/index.ts"
);
const { SystemService } = await import("../functions/gen/oncall/v1/system_pb.ts");
const { MessageKind, TemplateService } = await import("../functions/gen/oncall/v1/templates_pb.ts");
const { createApiHandler } = await import("../functions/handlers/api.ts");
const { startLocalServer } = await import("../local/server.ts");
const { createTestAppContext, testAdminToken } = await import("../test/support/app-context.ts");
const { fmt, median, openBenchDatabase } = await import("./support.ts");

const rounds = 9;

/** Microseconds per call of `fn`, timed over `n` calls. */
function perCallMicros(n: number, fn: () => unknown): number {
  const started = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - started) * 1000) / n;
}

async function perCallMillisAsync(n: number, fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - started) / n;
}

// (1) per-channel render
const defaults = loadDefaultTemplates();
const template = compileTemplate("alert", defaults.get("alert")!);
const context = sampleContext("alert");
const perRender = 2_000;
for (let i = 0; i < 500; i++) renderChannels(template, template, context); // warm up
console.log(`default alert template, sample alert, ${rounds} rounds × ${fmt(perRender)} renders per channel`);
// A distinct creation time per render defeats the helpers' memo of formatted times (a delivery of a
// new alert); the same context every time is the editor's preview (the memo answers).
const distinct = Array.from({ length: perRender }, (_, i) => ({
  ...context,
  alert: {
    ...context.alert!,
    createdAt: new Date(Date.parse("2026-11-01T00:00:00Z") + i * 61_000).toISOString(),
  },
}));
const baseline: number[] = [];
const same = new Map<string, number[]>(channels.map((c) => [c, []]));
const cold = new Map<string, number[]>(channels.map((c) => [c, []]));
for (let round = 0; round < rounds; round++) {
  baseline.push(perCallMicros(perRender, () => JSON.stringify(context)));
  for (const channel of channels) {
    same
      .get(channel)!
      .push(perCallMicros(perRender, () => renderChannels(template, template, context, [channel])));
    let i = 0;
    // each round moves `now` so the relative times are new too
    const now = new Date(Date.parse(context.now) + round * 1000).toISOString();
    cold
      .get(channel)!
      .push(
        perCallMicros(perRender, () =>
          renderChannels(template, template, { ...distinct[i++]!, now }, [channel]),
        ),
      );
  }
}
const base = median(baseline);
console.log(`  baseline JSON.stringify(context): ${fmt(base, 1)} µs`);
console.log("  per render (output JSON parsed, limits and plain text included):");
console.log("  channel   same alert (preview)          a new alert each render");
for (const channel of channels) {
  const a = median(same.get(channel)!);
  const b = median(cold.get(channel)!);
  console.log(
    `  ${channel.padEnd(8)} ${fmt(a, 1).padStart(7)} µs ${`(${fmt(a / base, 1)}×)`.padEnd(18)} ${fmt(b, 1).padStart(7)} µs (${fmt(b / base, 1)}× baseline)`,
  );
}

// (2) RenderPreview end to end
const database = await openBenchDatabase();
const server = await startLocalServer(createApiHandler(createTestAppContext(database.handle)), { port: 0 });
const transport = createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" });
const templates = createClient(TemplateService, transport);
const system = createClient(SystemService, transport);
const auth = { headers: { authorization: `Bearer ${testAdminToken}` } };
const saved = await templates.createTemplate(
  {
    name: "bench",
    kind: MessageKind.ALERT,
    variants: { slack: defaults.get("alert")!.slack!, sms: { text: "{{alert.summary}}" } },
  },
  auth,
);
const previewDefault = () =>
  templates.renderPreview({ source: { case: "template", value: { id: "default-alert" } } }, auth);
const previewSaved = () =>
  templates.renderPreview({ source: { case: "template", value: { id: saved.template!.id } } }, auth);
const whoAmI = () => system.whoAmI({}, auth);
for (let i = 0; i < 50; i++) {
  await previewDefault();
  await previewSaved();
  await whoAmI();
}
const perRpc = 100;
const floor: number[] = [];
const fromDefault: number[] = [];
const fromSaved: number[] = [];
for (let round = 0; round < rounds; round++) {
  floor.push(await perCallMillisAsync(perRpc, whoAmI));
  fromDefault.push(await perCallMillisAsync(perRpc, previewDefault));
  fromSaved.push(await perCallMillisAsync(perRpc, previewSaved));
}
const f = median(floor);
console.log(
  `RenderPreview, all six channels, gRPC-web over the local HTTP server, ${database.label}, ${rounds} rounds × ${perRpc} calls`,
);
console.log(`  baseline WhoAmI: ${fmt(f, 2)} ms`);
console.log(
  `  default template: ${fmt(median(fromDefault), 2)} ms per preview  ${fmt(median(fromDefault) / f, 1)}× baseline`,
);
console.log(
  `  saved template (live version read): ${fmt(median(fromSaved), 2)} ms per preview  ${fmt(median(fromSaved) / f, 1)}× baseline`,
);
await server.close();
await database.close();
