// `npm ci` (postinstall) and `node local/build-pglite-template.ts`: makes the PGlite template that a
// fresh `npm start` copies instead of running initdb and the migrations (local/pglite-template.ts).
// Best effort: an install never fails for it; the first start that needs a template makes one.
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
try {
  const { buildTemplate, pruneTemplates } = await import("./pglite-template.ts");
  const started = performance.now();
  const dir = await buildTemplate();
  await pruneTemplates(dir);
  console.error(`oncall: PGlite template ready in ${Math.round(performance.now() - started)} ms (${dir})`);
} catch (error) {
  console.error(`oncall: PGlite template not built (${(error as Error).message}); npm start makes it`);
}
