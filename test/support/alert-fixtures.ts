/**
 * Test-only helpers (imported by `*.test.ts`): the shared webhook fixtures and
 * a way to ask which field a ValidationError names.
 */
import { readFileSync } from "node:fs";
import { ValidationError } from "../../functions/domain/errors.ts";

/** Copies of the originals in shared/fixtures, kept in the repository so that a bare clone tests. */
const FIXTURES = new URL("../fixtures/webhooks/", import.meta.url);

export type Fixture =
  | "alertmanager-v4-firing"
  | "alertmanager-v4-resolved"
  | "generic-trigger"
  | "grafana-unified-firing"
  | "pagerduty-events-v2-trigger";

/** A fresh parsed copy of a fixture: tests may mutate it. */
export function fixture(name: Fixture): Record<string, unknown> & { alerts?: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8"));
}

/** The `field` of the ValidationError that `act` throws; fails the test on any other outcome. */
export function rejectedField(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error("expected a ValidationError, but the input was accepted");
}

/** `{"a":{"a":...1}}` nested `levels` deep, built as text and parsed like a request body. */
export function deeplyNested(levels: number): unknown {
  return JSON.parse(`${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`);
}
