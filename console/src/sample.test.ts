import { describe, expect, it } from "vitest";
import { Severity } from "../../functions/gen/oncall/v1/alerts_pb.ts";
import { alertRequestOf, newSample, sampleFromJson } from "./sample.ts";

describe("a pasted alert", () => {
  it("reads this API's sample", () => {
    expect(
      sampleFromJson(
        '{"summary":"Disk full","severity":"warning","labels":{"env":"staging","team":"db"},"service_id":"s1"}',
      ),
    ).toEqual({
      summary: "Disk full",
      severity: String(Severity.WARNING),
      labels: "env=staging, team=db",
      serviceId: "s1",
    });
  });

  it("reads an Alertmanager webhook body: its first alert, summary and severity from annotations and labels", () => {
    const body = {
      alerts: [
        {
          labels: { alertname: "HighLatency", severity: "critical", env: "prod" },
          annotations: { summary: "p99 over 2 s", description: "for 5 min" },
        },
        { labels: { alertname: "Other" } },
      ],
    };
    expect(sampleFromJson(JSON.stringify(body))).toEqual({
      summary: "p99 over 2 s",
      details: "for 5 min",
      severity: String(Severity.CRITICAL),
      labels: "alertname=HighLatency, severity=critical, env=prod",
      annotations: "summary=p99 over 2 s, description=for 5 min",
    });
  });

  it.each([
    ["{", /^is not JSON/],
    ["[1]", /^must be a JSON object/],
    ['{"severity":"fatal"}', /^severity “fatal” is not one of/],
    ['{"labels":["a"]}', /^labels must be an object/],
    ["{}", /^has none of/],
  ])("refuses %s with a reason", (text, reason) => {
    expect(sampleFromJson(text)).toMatch(reason);
  });
});

describe("the request's alert", () => {
  it("a sample with its labels and annotations, the default service when none is chosen", () => {
    const r = alertRequestOf({ ...newSample(), labels: "env=staging", annotations: "runbook=x" }, "svc");
    expect("alert" in r && r.alert.source).toMatchObject({
      case: "sample",
      value: { serviceId: "svc", labels: { env: "staging" }, annotations: { runbook: "x" } },
    });
  });

  it("a stored alert by number; anything else names the field", () => {
    const r = alertRequestOf({ ...newSample(), storedId: " 42 " }, "svc");
    expect("alert" in r && r.alert.source).toEqual({ case: "alertId", value: 42n });
    const bad = alertRequestOf({ ...newSample(), storedId: "x" }, "svc");
    expect("error" in bad && bad.error.rawMessage).toMatch(/^alert\.alert_id: /);
    const labels = alertRequestOf({ ...newSample(), labels: "env" }, "svc");
    expect("error" in labels && labels.error.rawMessage).toMatch(/^labels: /);
  });
});
