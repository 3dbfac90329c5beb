import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { logger } from "../functions/adapters/observability.ts";
import { applySubstitutions, placeholdersIn } from "../functions/adapters/state-machines.ts";
import { type EscalationRunner, executionInput } from "../functions/domain/escalation/index.ts";

/** Any JSON value, as the runner passes between states. */
type JSONValue = Parameters<StateMachine["run"]>[0];

/** A task resource run in-process: the same handler function the Lambda wraps. */
export type LocalTask = (input: unknown) => Promise<unknown>;

export interface LocalEscalationRunnerOptions {
  /** The ASL text as written (with its `${Placeholder}` task resources). */
  readonly definition: string;
  /** A handler for every placeholder of the definition, by placeholder name. */
  readonly tasks: Readonly<Record<string, LocalTask>>;
  /** Pause before a failed execution is started again (AWS would alarm and wait for a redrive). @default 60 s */
  readonly restartAfterFailureMs?: number;
  /** Replaces the pauses of every Retry (tests). @default the ASL's own */
  readonly retryIntervalMs?: number;
  /**
   * Validate the definition (asl-validator, ARNs and paths) when the runner is made. Costs ~0.7 s of
   * CPU (Ajv compiles the ASL schemas), a third of `npm start` on a restart: the embedded runtime
   * turns it off for the committed definition, which local-escalation-runner.test.ts validates.
   * @default true
   */
  readonly validate?: boolean;
}

export interface LocalEscalationRunner extends EscalationRunner {
  /** Names of the executions in progress. */
  running(): string[];
  /** Starts each named execution (resume after a start: each first RunStep waits what remains). */
  resume(executionNames: readonly string[]): Promise<void>;
  /** Aborts every execution (on shutdown); later starts are refused. */
  close(): void;
}

interface Execution {
  abort(): void;
  /** Set by stop() and close(): the execution ended on purpose. */
  stopped: boolean;
}

/** The resource ARN a placeholder stands for in the embedded runtime. */
export function localTaskArn(placeholder: string): string {
  return `arn:aws:lambda:local:000000000000:function:${placeholder}`;
}

/**
 * The embedded runtime's EscalationRunner: runs state-machines/escalation.asl.json with
 * aws-local-stepfunctions, in this process, each Task state's resource mapped to the local handler of
 * its placeholder. Executions live in memory; their state lives in the database, so after a restart
 * `resume` picks up every active escalation where it stood.
 *
 * @example
 * const runner = createLocalEscalationRunner({ definition: await readEscalationDefinition(), tasks });
 * await runner.start("cohort-10-3f2a9c1b");
 */
export function createLocalEscalationRunner(options: LocalEscalationRunnerOptions): LocalEscalationRunner {
  const substitutions = Object.fromEntries(
    placeholdersIn(options.definition).map((name) => [name, localTaskArn(name)]),
  );
  const definition = JSON.parse(
    applySubstitutions(options.definition, substitutions),
  ) as StateMachineDefinition;
  const taskResourceLocalHandlers = taskHandlersByState(JSON.parse(options.definition), options.tasks);
  const machine = new StateMachine(
    definition,
    options.validate === false ? { validationOptions: { noValidate: true } } : undefined,
  );
  const restartAfterFailureMs = options.restartAfterFailureMs ?? 60_000;
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries(
          Object.keys(taskResourceLocalHandlers).map((state) => [state, options.retryIntervalMs!]),
        );
  const executions = new Map<string, Execution>();
  let closed = false;

  /** Runs the execution `name`; `waitUntil`: it begins by waiting (its first step is recorded). */
  function launch(name: string, waitUntil?: Date): void {
    const run = machine.run(executionInput(name, { waitUntil }) as JSONValue, {
      overrides: { taskResourceLocalHandlers, ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}) },
      noThrowOnAbort: true,
    });
    const execution: Execution = { abort: run.abort, stopped: false };
    executions.set(name, execution);
    run.result.then(
      () => {
        if (executions.get(name) === execution) executions.delete(name);
      },
      (error: unknown) => {
        if (execution.stopped || executions.get(name) !== execution) return;
        // On AWS a failed execution raises the EscalationFailures alarm; here nobody watches: try again.
        logger.error("escalation execution failed; starting it again later", {
          executionName: name,
          restartInMs: restartAfterFailureMs,
          error: error as Error,
        });
        const timer = setTimeout(() => {
          if (executions.get(name) === execution && !execution.stopped && !closed) launch(name);
        }, restartAfterFailureMs);
        timer.unref();
        execution.abort = () => clearTimeout(timer);
      },
    );
  }

  return {
    async start(executionName, options) {
      if (closed) throw new Error("the escalation runner is closed");
      // Same name, already running: nothing to do (Step Functions answers the same for the same input).
      if (!executions.has(executionName)) launch(executionName, options?.waitUntil);
      return `local:${executionName}`;
    },
    async stop(executionName) {
      const execution = executions.get(executionName);
      if (!execution) return;
      execution.stopped = true;
      executions.delete(executionName);
      execution.abort();
    },
    running: () => [...executions.keys()],
    async resume(executionNames) {
      for (const name of executionNames) await this.start(name);
    },
    close() {
      closed = true;
      for (const [name, execution] of executions) {
        execution.stopped = true;
        executions.delete(name);
        execution.abort();
      }
    },
  };
}

/**
 * aws-local-stepfunctions overrides tasks by state name; the ASL names resources. Maps every Task
 * state to the handler of the placeholder in its `Resource`, and refuses a Task without one.
 */
function taskHandlersByState(
  definition: { States?: Record<string, { Type?: string; Resource?: string }> },
  tasks: Readonly<Record<string, LocalTask>>,
): Record<string, (input: JSONValue) => Promise<JSONValue>> {
  const handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [stateName, state] of Object.entries(definition.States ?? {})) {
    if (state.Type !== "Task") continue;
    const placeholder = /^\$\{([A-Za-z0-9]+)\}$/.exec(state.Resource ?? "")?.[1];
    const task = placeholder ? tasks[placeholder] : undefined;
    if (!task) {
      throw new Error(`Task state ${stateName}: no local handler for resource ${state.Resource ?? "(none)"}`);
    }
    handlers[stateName] = async (input) => (await task(input)) as JSONValue;
  }
  return handlers;
}
