import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { Kysely } from "kysely";
import type { Clock } from "../../domain/clock.ts";
import { isEmailAddress } from "../../domain/notifications/channels.ts";
import type {
  DeliveryProvider,
  DeliveryProviderRegistry,
  DestinationKind,
} from "../../domain/notifications/model.ts";
import type { SecretResolver } from "../../domain/notifications/secrets.ts";
import { type ClientSource, lazily } from "../aws/lazy-client.ts";
import { ConfigError } from "../config.ts";
import type { Database } from "../db/schema.ts";
import { createOutboundGuard, type LookupAll, type OutboundGuard } from "../http/outbound-guard.ts";
import { createOutboundHttp } from "../http/outbound-http.ts";
import { createLocalOutboxProvider } from "./local-outbox.ts";
import { createSesEmailProvider } from "./ses-email.ts";
import { createSlackChatProvider, SLACK_API_URL } from "./slack-chat.ts";
import { createSlackWebhookProvider } from "./slack-webhook.ts";
import { createSmtpEmailProvider } from "./smtp-email.ts";
import { createSnsSmsProvider } from "./sns-sms.ts";
import { createTeamsProvider } from "./teams.ts";
import { createWebhookProvider } from "./webhook.ts";

type Env = Record<string, string | undefined>;

/** How outbound messages leave, read from the environment (README "Configuration"). */
export interface NotificationConfig {
  /** http to localhost and private addresses allowed (embedded only; ONCALL_ALLOW_LOCAL_URLS). */
  readonly allowLocalUrls: boolean;
  readonly email:
    | { readonly provider: "ses"; readonly from: string; readonly configurationSet?: string | undefined }
    | {
        readonly provider: "smtp";
        readonly url: string;
        readonly from: string;
        readonly passwordRef?: string | undefined;
      }
    | { readonly provider: "outbox" }
    /** AWS without ONCALL_EMAIL_FROM: every email fails, saying so. */
    | { readonly provider: "unconfigured"; readonly problem: string };
  readonly sms:
    | { readonly provider: "sns"; readonly senderId?: string | undefined }
    | { readonly provider: "outbox" };
  readonly slackApiUrl: string;
  /** The Slack workspace bot token reference for slack_dm contact methods (ONCALL_SLACK_BOT_TOKEN_REF). */
  readonly slackBotTokenRef: string | undefined;
  /** Bound on one HTTP send (ONCALL_OUTBOUND_TIMEOUT_MS). */
  readonly httpTimeoutMs: number;
}

/**
 * | variable | runtime | meaning |
 * | ONCALL_ALLOW_LOCAL_URLS | embedded (default true) | http://localhost and private addresses allowed as channel URLs |
 * | ONCALL_EMAIL_FROM | both | From address (SES: a verified identity) |
 * | ONCALL_SES_CONFIGURATION_SET | AWS | SES configuration set |
 * | ONCALL_SMTP_URL, ONCALL_SMTP_PASSWORD_REF | embedded | SMTP server; password as secret reference |
 * | ONCALL_SMS_PROVIDER | embedded | sns or outbox (default: sns when AWS credentials are set) |
 * | ONCALL_SMS_SENDER_ID | both | SNS sender id |
 * | ONCALL_SLACK_API_URL, ONCALL_SLACK_BOT_TOKEN_REF | both | Slack Web API base; bot token for DMs |
 * | ONCALL_OUTBOUND_TIMEOUT_MS | both | bound on one HTTP send (default 10000) |
 */
export function readNotificationConfig(env: Env, runtime: "embedded" | "aws"): NotificationConfig {
  const value = (name: string) => env[name]?.trim() || undefined;
  const from = value("ONCALL_EMAIL_FROM");
  if (from !== undefined && !isEmailAddress(/<([^>]+)>\s*$/.exec(from)?.[1] ?? from)) {
    throw new ConfigError("ONCALL_EMAIL_FROM", "must be an email address, or Name <address>");
  }
  const allowLocal = value("ONCALL_ALLOW_LOCAL_URLS");
  if (allowLocal !== undefined && !["true", "false", "1", "0"].includes(allowLocal)) {
    throw new ConfigError("ONCALL_ALLOW_LOCAL_URLS", "must be true or false");
  }
  const timeout = Number(value("ONCALL_OUTBOUND_TIMEOUT_MS") ?? 10_000);
  if (!Number.isInteger(timeout) || timeout < 100 || timeout > 120_000) {
    throw new ConfigError("ONCALL_OUTBOUND_TIMEOUT_MS", "must be an integer from 100 to 120000");
  }
  const slackApiUrl = value("ONCALL_SLACK_API_URL") ?? SLACK_API_URL;
  if (!/^https?:\/\//.test(slackApiUrl))
    throw new ConfigError("ONCALL_SLACK_API_URL", "must be an http(s) URL");
  const senderId = value("ONCALL_SMS_SENDER_ID");
  const shared = {
    slackApiUrl,
    slackBotTokenRef: value("ONCALL_SLACK_BOT_TOKEN_REF"),
    httpTimeoutMs: timeout,
  };
  if (runtime === "aws") {
    return {
      ...shared,
      allowLocalUrls: false,
      email: from
        ? { provider: "ses", from, configurationSet: value("ONCALL_SES_CONFIGURATION_SET") }
        : {
            provider: "unconfigured",
            problem: "email is not configured: set ONCALL_EMAIL_FROM to a verified SES identity",
          },
      sms: { provider: "sns", senderId },
    };
  }
  const smtpUrl = value("ONCALL_SMTP_URL");
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/]+/.test(smtpUrl)) {
    throw new ConfigError("ONCALL_SMTP_URL", "must be smtp://[user[:password]@]host[:port] or smtps://…");
  }
  const smsProvider = value("ONCALL_SMS_PROVIDER");
  if (smsProvider !== undefined && smsProvider !== "sns" && smsProvider !== "outbox") {
    throw new ConfigError("ONCALL_SMS_PROVIDER", "must be sns or outbox");
  }
  const awsCredentials = Boolean(value("AWS_ACCESS_KEY_ID") || value("AWS_PROFILE"));
  return {
    ...shared,
    allowLocalUrls: allowLocal === undefined ? true : allowLocal === "true" || allowLocal === "1",
    email: smtpUrl
      ? {
          provider: "smtp",
          url: smtpUrl,
          from: from ?? "oncall@localhost",
          passwordRef: value("ONCALL_SMTP_PASSWORD_REF"),
        }
      : { provider: "outbox" },
    sms:
      (smsProvider ?? (awsCredentials ? "sns" : "outbox")) === "sns"
        ? { provider: "sns", senderId }
        : { provider: "outbox" },
  };
}

/** What sends outbound messages, built once per process (both runtimes and tests). */
export interface OutboundPorts {
  readonly providers: DeliveryProviderRegistry;
  readonly guard: OutboundGuard;
  readonly secrets: SecretResolver;
  readonly config: NotificationConfig;
}

export interface ProviderDeps {
  /** The database (local outbox), read per call. */
  readonly db: () => Kysely<Database>;
  readonly clock: Clock;
  readonly secrets: SecretResolver;
  /** DNS for the SSRF guard; tests inject one. */
  readonly lookup?: LookupAll | undefined;
  readonly ses?: ClientSource<SESv2Client> | undefined;
  readonly sns?: ClientSource<SNSClient> | undefined;
}

/** Request bounds of the AWS clients: a page must not wait on a hung connection. */
const awsRequestHandler = { connectionTimeout: 3_000, requestTimeout: 10_000 };

/**
 * One provider per destination kind: Slack, Teams and webhooks over HTTPS (through the SSRF guard),
 * email by SES, SMTP or the local outbox, SMS by SNS or the local outbox, as configured.
 *
 * @example const outbound = createProviderRegistry(readNotificationConfig(process.env, "embedded"), deps);
 */
export function createProviderRegistry(config: NotificationConfig, deps: ProviderDeps): OutboundPorts {
  const guard = createOutboundGuard({ allowLocal: config.allowLocalUrls, lookup: deps.lookup });
  const http = createOutboundHttp({ guard, timeoutMs: config.httpTimeoutMs });
  const { clock, secrets } = deps;
  const email = ((): DeliveryProvider => {
    switch (config.email.provider) {
      case "ses":
        return createSesEmailProvider({
          client:
            deps.ses ??
            lazily(
              async () =>
                new (await import("@aws-sdk/client-sesv2")).SESv2Client({
                  requestHandler: awsRequestHandler,
                }),
            ),
          from: config.email.from,
          configurationSet: config.email.configurationSet,
          timeoutMs: config.httpTimeoutMs,
        });
      case "smtp":
        return createSmtpEmailProvider({
          url: config.email.url,
          from: config.email.from,
          passwordRef: config.email.passwordRef,
          secrets,
          timeoutMs: config.httpTimeoutMs,
        });
      case "outbox":
        return createLocalOutboxProvider("email", deps);
      case "unconfigured":
        return unconfigured("email", config.email.problem);
    }
  })();
  const sms =
    config.sms.provider === "sns"
      ? createSnsSmsProvider({
          client:
            deps.sns ??
            lazily(
              async () =>
                new (await import("@aws-sdk/client-sns")).SNSClient({ requestHandler: awsRequestHandler }),
            ),
          senderId: config.sms.senderId,
          timeoutMs: config.httpTimeoutMs,
        })
      : createLocalOutboxProvider("sms", deps);
  const providers: Record<DestinationKind, DeliveryProvider> = {
    email,
    sms,
    slack_webhook: createSlackWebhookProvider({ http, clock }),
    slack_chat: createSlackChatProvider({ http, secrets, clock, apiUrl: config.slackApiUrl }),
    teams_webhook: createTeamsProvider({ http, clock }),
    webhook: createWebhookProvider({ http, secrets, clock }),
  };
  return { providers, guard, secrets, config };
}

/** A provider that cannot send because its configuration is missing: every send fails, saying what to set. */
function unconfigured(kind: DestinationKind, problem: string): DeliveryProvider {
  return { kind, send: async () => ({ status: "failed", reason: problem }) };
}
