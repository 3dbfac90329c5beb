import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { logger } from "../../adapters/observability.ts";
import { traceWithoutContent } from "./observability.ts";

/** A Step Functions task: JSON in, JSON out. Errors propagate by name (see state-machines/README.md). */
export type TaskHandler<I, O> = (input: I) => Promise<O>;
export type TaskLambda<I, O> = (event: I, context: Context) => Promise<O>;

/**
 * The Lambda entry of a task: X-Ray (without the task's output or error text) and structured logs around a task built once per process (a
 * failed build is retried on the next invocation). Errors are logged and rethrown unchanged, so that
 * their `name` reaches the state machine's Retry / Catch.
 */
export function taskLambda<I, O>(build: () => Promise<TaskHandler<I, O>>): TaskLambda<I, O> {
  let pending: Promise<TaskHandler<I, O>> | undefined;
  const run = async (event: I): Promise<O> => {
    pending ??= build().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    try {
      return await (await pending)(event);
    } catch (err) {
      logger.error("task failed", { error: err as Error });
      throw err;
    }
  };
  return middy<I, O>().use(traceWithoutContent<I, O>()).use(injectLambdaContext(logger)).handler(run);
}
