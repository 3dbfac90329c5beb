import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";

// One instance each per process, as Powertools recommends. The embedded runtime sets
// POWERTOOLS_METRICS_DISABLED (no CloudWatch to read EMF) and the tracer is off outside Lambda.
export const serviceName = "oncall";
/** CloudWatch namespace of the EMF metrics; the dashboard (infra/) reads the same constant. */
export const metricsNamespace = "Oncall";
export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: metricsNamespace, serviceName });
export const tracer = new Tracer({ serviceName });
