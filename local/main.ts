// `npm start`: the embedded runtime. One process serves the same Lambda handlers over HTTP,
// with PGlite (or DATABASE_URL) as the database.
// No CloudWatch here: EMF metrics would only be noise on stdout.
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";

// Node's on-disk compile cache (V8 code cache, and the type-stripped TypeScript): a start compiles
// and strips some hundred files and their dependencies, seconds on a busy machine; a warm cache skips it.
// Before the import below, which loads everything else. A cache that cannot be used is ignored.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.(new URL("../node_modules/.cache/oncall/compile-cache", import.meta.url).pathname);

const { startEmbedded } = await import("./start.ts");
await startEmbedded(process.env);
