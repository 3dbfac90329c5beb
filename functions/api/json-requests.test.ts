import { describe, expect, it } from "vitest";
import { ListAlertsRequestSchema } from "../gen/oncall/v1/alerts_pb.ts";
import { CreateEscalationPolicyRequestSchema } from "../gen/oncall/v1/escalation_policies_pb.ts";
import { findUnknownJson } from "./json-requests.ts";

describe("findUnknownJson", () => {
  it.each([
    [
      "known fields, JSON names",
      ListAlertsRequestSchema,
      { statuses: ["ALERT_STATUS_TRIGGERED"], pageSize: 2 },
      undefined,
    ],
    ["known fields, proto names", ListAlertsRequestSchema, { service_ids: [], page_size: 2 }, undefined],
    ["enum numbers", ListAlertsRequestSchema, { statuses: [1] }, undefined],
    [
      "well-known types as strings",
      ListAlertsRequestSchema,
      { createdAfter: "2026-01-01T00:00:00Z" },
      undefined,
    ],
    [
      "an unknown field",
      ListAlertsRequestSchema,
      { status: ["ALERT_STATUS_TRIGGERED"] },
      "status: unknown field",
    ],
    [
      "an unknown enum name in a list",
      ListAlertsRequestSchema,
      { statuses: ["ALERT_STATUS_ACKNOWLEDGED", "TRIGGERED"] },
      'statuses[1]: unknown value "TRIGGERED"; expected one of ALERT_STATUS_TRIGGERED, ALERT_STATUS_ACKNOWLEDGED, ALERT_STATUS_RESOLVED',
    ],
    [
      "an unknown field in a nested message",
      CreateEscalationPolicyRequestSchema,
      { name: "p", steps: [{ delaySeconds: 60, targets: [{ userId: "u" }, { user: "v" }] }] },
      "steps[0].targets[1].user: unknown field",
    ],
  ])("%s", (_, schema, json, expected) => {
    expect(findUnknownJson(schema, json)).toBe(expected);
  });
});
