import { describe, expect, it, vi } from "vitest";
import { loadTracer, tracingEnabled } from "./observability.ts";

// The tracer is loaded only where X-Ray records something: loading its SDK slows every promise of
// the process (cls-hooked's async hooks), so the embedded runtime must never pay for it.
describe("the X-Ray tracer", () => {
  const lambda = {
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS: "false",
  };

  it("is not loaded outside Lambda, nor when turned off or under SAM local", async () => {
    for (const env of [
      {},
      { ...lambda, POWERTOOLS_TRACE_ENABLED: "false" },
      { ...lambda, POWERTOOLS_TRACE_ENABLED: "FALSE" },
      { ...lambda, AWS_SAM_LOCAL: "true" },
    ]) {
      expect(tracingEnabled(env)).toBe(false);
      expect(await loadTracer(env)).toBeUndefined();
    }
  });

  it("is loaded, and on, in Lambda", async () => {
    expect(tracingEnabled(lambda)).toBe(true);
    // The Tracer reads its settings from the process's environment, as it does in Lambda.
    for (const [name, value] of Object.entries(lambda)) vi.stubEnv(name, value);
    const tracer = await loadTracer();
    expect(tracer?.isTracingEnabled()).toBe(true);
    vi.unstubAllEnvs();
  });
});
