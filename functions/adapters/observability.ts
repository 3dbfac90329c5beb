import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Tracer } from "@aws-lambda-powertools/tracer";

// One instance each per process, as Powertools recommends. The embedded runtime sets
// POWERTOOLS_METRICS_DISABLED (no CloudWatch to read EMF) and never loads the tracer.
export const serviceName = "oncall";
/** CloudWatch namespace of the EMF metrics; the dashboard (infra/) reads the same constant. */
export const metricsNamespace = "Oncall";
export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: metricsNamespace, serviceName });

type Env = Record<string, string | undefined>;

/** Whether X-Ray records anything here: in Lambda, unless turned off (Powertools' own rule). */
export function tracingEnabled(env: Env): boolean {
  return (
    (env.AWS_EXECUTION_ENV ?? "") !== "" &&
    !env.AWS_SAM_LOCAL &&
    (env.POWERTOOLS_TRACE_ENABLED ?? "").toLowerCase() !== "false"
  );
}

let shared: Promise<Tracer | undefined> | undefined;

/**
 * The X-Ray tracer, or undefined where tracing is off. Loaded on demand because loading
 * aws-xray-sdk-core installs cls-hooked's async hooks on every promise of the process, traced or
 * not: 2M awaits took 1.6 s instead of 0.13 s in one process. So the embedded runtime, the tests
 * and the benches never load it, and a Lambda loads it at its first traced call.
 */
export function loadTracer(env: Env = process.env): Promise<Tracer | undefined> {
  const load = async () => {
    if (!tracingEnabled(env)) return undefined;
    const { Tracer } = await import("@aws-lambda-powertools/tracer");
    return new Tracer({ serviceName });
  };
  if (env !== process.env) return load();
  shared ??= load();
  return shared;
}

/** An AWS SDK client, its calls traced as subsegments when tracing is on. */
export async function traced<Client extends object>(client: Client): Promise<Client> {
  const tracer = await loadTracer();
  return tracer ? tracer.captureAWSv3Client(client) : client;
}
