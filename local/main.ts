// `npm start`: the embedded runtime. One process serves the same Lambda handlers over HTTP,
// with PGlite (or DATABASE_URL) as the database.
// No CloudWatch here: EMF metrics would only be noise on stdout.
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";

const { startEmbedded } = await import("./start.ts");
await startEmbedded(process.env);
