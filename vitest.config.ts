import { defineConfig } from "vitest/config";

// vitest is the only test runner (the design card's jest.config.ts would be dead weight).
// Tests live beside the code (`foo.test.ts`), plus end-to-end suites in test/.
export default defineConfig({
  test: {
    include: [
      "functions/**/*.test.ts",
      "infra/**/*.test.ts",
      "local/**/*.test.ts",
      "console/src/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    pool: "forks",
    // PGlite costs ~0.7 GB and ~2 s per instance: suites share one migrated template per worker.
    maxWorkers: 2,
    // Safety nets, not assertions: generous so that a busy 2-core machine (CI beside other work)
    // does not fail a test that is only slow. Behaviour is tested; speed is benchmarked in bench/.
    testTimeout: 120_000,
    // No CloudWatch in tests: EMF output would only be noise.
    env: { POWERTOOLS_METRICS_DISABLED: "true", POWERTOOLS_LOG_LEVEL: "ERROR" },
    hookTimeout: 300_000,
  },
});
