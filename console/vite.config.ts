import { join } from "node:path";
import { defineConfig } from "vite";
import { consoleSourceHash } from "../local/console-source-hash.ts";

// The console is a static bundle: `npm start` serves console/dist/ (local/static-files.ts), AWS
// serves the same folder from S3 behind CloudFront. Vite 8 compiles .tsx with oxc (automatic JSX
// runtime), so no React plugin is needed for a production build.
export default defineConfig(({ command }) => ({
  root: import.meta.dirname,
  base: "/",
  // A build is React's production build even when the caller's NODE_ENV says otherwise.
  ...(command === "build" ? { define: { "process.env.NODE_ENV": JSON.stringify("production") } } : {}),
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The budget is checked by the browser test; this only keeps the warning meaningful.
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      onLog(level, log, handler) {
        // React Query's "use client" markers are for server components; a browser bundle ignores them.
        if (log.code === "MODULE_LEVEL_DIRECTIVE") return;
        handler(level, log);
      },
    },
  },
  plugins: [
    {
      // Tells `npm start` which sources this build came from (local/console-build.ts).
      name: "oncall-source-hash",
      apply: "build",
      generateBundle() {
        this.emitFile({
          type: "asset",
          fileName: ".source-hash",
          source: consoleSourceHash(join(import.meta.dirname, "..")),
        });
      },
    },
  ],
  server: {
    // `npx vite console` during development: the API from `npm start` on the same origin.
    proxy: {
      "^/(oncall\\.v1\\.|healthz|v1/webhooks|v2/enqueue)": "http://127.0.0.1:8080",
    },
  },
}));
