import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { escalationDefinitionFile } from "../functions/adapters/state-machines.ts";
import { EscalationInputError, TransientError } from "../functions/domain/escalation/index.ts";
import {
  createLocalEscalationRunner,
  type LocalEscalationRunner,
  type LocalTask,
} from "./local-escalation-runner.ts";

// The ASL file itself, run by aws-local-stepfunctions with scripted tasks: the loop, the waits, the
// retries, the catch, and the runner's start/stop/resume semantics. Real clock, millisecond waits.

const definition = readFileSync(escalationDefinitionFile, "utf8");
const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

type Answer =
  | { done: boolean; nextStepAt: string | null }
  | Error
  | (() => { done: boolean; nextStepAt: string | null });

/** A task that answers from a script (the last answer repeats) and records its inputs and times. */
function scripted(...answers: Answer[]) {
  const calls: { input: unknown; at: number }[] = [];
  const task: LocalTask = async (input) => {
    calls.push({ input, at: Date.now() });
    const answer = answers[Math.min(calls.length, answers.length) - 1]!;
    if (answer instanceof Error) throw answer;
    return typeof answer === "function" ? answer() : answer;
  };
  return { task, calls };
}

let runner: LocalEscalationRunner | undefined;
afterEach(() => runner?.close());

function createRunner(
  runStep: LocalTask,
  recordFailure: LocalTask,
  options: { restartAfterFailureMs?: number } = {},
) {
  runner = createLocalEscalationRunner({
    definition,
    tasks: { RunEscalationStepFunctionArn: runStep, RecordEscalationFailureFunctionArn: recordFailure },
    retryIntervalMs: 10,
    ...options,
  });
  return runner;
}

const done = { done: true, nextStepAt: null };

describe("escalation.asl.json on the local runner", () => {
  it("runs the step, waits until nextStepAt, runs it again, and ends when done", async () => {
    const step = scripted(() => ({ done: false, nextStepAt: soon(150) }), done);
    const failure = scripted(done);
    const r = createRunner(step.task, failure.task);

    await r.start("alert-42");
    await vi.waitFor(() => expect(r.running()).toEqual([]), { timeout: 2000 });

    expect(step.calls.map((c) => c.input)).toEqual([
      { executionName: "alert-42" },
      { executionName: "alert-42" },
    ]);
    expect(step.calls[1]!.at - step.calls[0]!.at).toBeGreaterThanOrEqual(140);
    expect(failure.calls).toEqual([]);
  });

  it("begins by waiting when the first step is recorded already (waitUntil), then runs the next", async () => {
    const step = scripted(done);
    const r = createRunner(step.task, scripted(done).task);

    const startedAt = Date.now();
    await r.start("cohort-7-0a1b2c3d", { waitUntil: new Date(startedAt + 150) });
    expect(step.calls).toEqual([]);
    await vi.waitFor(() => expect(r.running()).toEqual([]), { timeout: 2000 });

    expect(step.calls.map((c) => c.input)).toEqual([{ executionName: "cohort-7-0a1b2c3d" }]);
    expect(step.calls[0]!.at - startedAt).toBeGreaterThanOrEqual(140);
  });

  it("goes on at once when nextStepAt is already past", async () => {
    const step = scripted({ done: false, nextStepAt: soon(-5000) }, done);
    const r = createRunner(step.task, scripted(done).task);

    await r.start("alert-1");
    await vi.waitFor(() => expect(step.calls).toHaveLength(2), { timeout: 500 });
  });

  it("retries a TransientError in RunStep without recording a failure", async () => {
    const step = scripted(new TransientError("database unavailable"), new TransientError("still"), done);
    const failure = scripted(done);
    const r = createRunner(step.task, failure.task);

    await r.start("alert-1");
    await vi.waitFor(() => expect(r.running()).toEqual([]), { timeout: 2000 });

    expect(step.calls).toHaveLength(3);
    expect(failure.calls).toEqual([]);
  });

  it("catches any other error into RecordFailure, then waits its answer and runs the step again", async () => {
    const step = scripted(new TypeError("x is undefined"), done);
    const failure = scripted(() => ({ done: false, nextStepAt: soon(100) }));
    const r = createRunner(step.task, failure.task);

    await r.start("alert-7");
    await vi.waitFor(() => expect(r.running()).toEqual([]), { timeout: 2000 });

    expect(failure.calls.map((c) => c.input)).toEqual([
      { executionName: "alert-7", error: { Error: "TypeError", Cause: "x is undefined" } },
    ]);
    expect(step.calls).toHaveLength(2);
    expect(step.calls[1]!.at - failure.calls[0]!.at).toBeGreaterThanOrEqual(90);
  });

  it("catches TransientError too once its retries are spent", async () => {
    const step = scripted(
      new TransientError("down"),
      new TransientError("down"),
      new TransientError("down"),
      new TransientError("down"),
      new TransientError("down"),
      new TransientError("down"),
      done,
    );
    const failure = scripted(() => ({ done: false, nextStepAt: soon(0) }));
    const r = createRunner(step.task, failure.task);

    await r.start("alert-1");
    await vi.waitFor(() => expect(r.running()).toEqual([]), { timeout: 3000 });

    expect(step.calls).toHaveLength(7); // 1 + 5 retries, then the run after RecordFailure
    expect(failure.calls.map((c) => (c.input as { error: unknown }).error)).toEqual([
      { Error: "TransientError", Cause: "down" },
    ]);
  });

  it("starts a running name once, and stop aborts it before its next step", async () => {
    const step = scripted(() => ({ done: false, nextStepAt: soon(200) }));
    const r = createRunner(step.task, scripted(done).task);

    expect(await r.start("alert-1")).toBe("local:alert-1");
    await r.start("alert-1");
    await vi.waitFor(() => expect(step.calls).toHaveLength(1));
    await r.stop("alert-1");
    await r.stop("alert-1"); // not running: nothing to do
    await new Promise((resolve) => setTimeout(resolve, 400));

    expect(step.calls).toHaveLength(1);
    expect(r.running()).toEqual([]);
  });

  it("resumes executions by name", async () => {
    const step = scripted(done);
    const r = createRunner(step.task, scripted(done).task);

    await r.resume(["alert-1", "alert-2-c0-s1"]);
    await vi.waitFor(() => expect(step.calls).toHaveLength(2));

    expect(step.calls.map((c) => c.input)).toEqual([
      { executionName: "alert-1" },
      { executionName: "alert-2-c0-s1" },
    ]);
  });

  it("starts a failed execution again after a pause (on AWS: the alarm and a redrive)", async () => {
    const step = scripted(new EscalationInputError("bad"), done);
    const failure = scripted(new EscalationInputError("bad"), done);
    const r = createRunner(step.task, failure.task, { restartAfterFailureMs: 100 });

    await r.start("alert-1");
    await vi.waitFor(() => expect(r.running()).toEqual([]), { timeout: 2000 });

    expect(step.calls).toHaveLength(2);
    expect(failure.calls).toHaveLength(1);
  });

  it("refuses to start after close", async () => {
    const r = createRunner(scripted(done).task, scripted(done).task);
    r.close();

    await expect(r.start("alert-1")).rejects.toThrow(/closed/);
  });

  // The embedded runtime skips validation at start (validate: false) for the committed definition:
  // this is where it is validated, with the resources the embedded runtime gives it.
  it("validates the committed definition, and refuses an invalid one", () => {
    const tasks = {
      RunEscalationStepFunctionArn: scripted(done).task,
      RecordEscalationFailureFunctionArn: scripted(done).task,
    };
    expect(() => createLocalEscalationRunner({ definition, tasks }).close()).not.toThrow();
    const broken = JSON.parse(definition) as { StartAt: string };
    broken.StartAt = "NoSuchState";
    expect(() => createLocalEscalationRunner({ definition: JSON.stringify(broken), tasks })).toThrow(
      /definition is invalid/,
    );
    expect(() =>
      createLocalEscalationRunner({ definition: JSON.stringify(broken), tasks, validate: false }).close(),
    ).not.toThrow();
  });

  it("refuses a definition whose task resource has no local handler", () => {
    expect(() =>
      createLocalEscalationRunner({
        definition,
        tasks: { RunEscalationStepFunctionArn: scripted(done).task },
      }),
    ).toThrow(/RecordFailure: no local handler/);
  });
});
