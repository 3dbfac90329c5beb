import { requireWebhookUrl } from "../domain/directory/urls.ts";

/**
 * Configuration, parsed once per process from the environment and validated. A bad or missing
 * variable fails the start with a ConfigError that names it, instead of a confusing error later.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

export interface SharedConfig {
  /** Origins allowed to call the API from a browser (gRPC-web, Connect). `*` allows any. */
  corsAllowedOrigins: string[];
  /** Webhook requests per minute per integration key, unless the key sets its own. */
  ingestRateLimitPerMinute: number;
  ingestAlertLimitPerMinute: number;
  /** Open alerts not seen for this many days are resolved by housekeeping; undefined: never. */
  autoResolveAfterDays: number | undefined;
  /** A remote kneutral-api directory; undefined: the embedded directory (our own tables). */
  directory: RemoteDirectoryConfig | undefined;
}

/** ONCALL_DIRECTORY_URL and how to call it. */
export interface RemoteDirectoryConfig {
  url: string;
  /** ONCALL_DIRECTORY_TOKEN: the bearer token (embedded; on AWS prefer the secret). */
  token: string | undefined;
  /** ONCALL_DIRECTORY_TOKEN_SECRET_ARN (AWS): the token in Secrets Manager. */
  tokenSecretArn: string | undefined;
  /** ONCALL_DIRECTORY_CACHE_TTL_SECONDS: how long an answer is served without asking again (60). */
  cacheTtlSeconds: number;
  /** ONCALL_DIRECTORY_TIMEOUT_MS: one call's deadline (2,000). */
  timeoutMs: number;
}

export interface EmbeddedConfig extends SharedConfig {
  port: number;
  /** Interface to listen on; 127.0.0.1 by default, 0.0.0.0 inside a container. */
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  demoIntegrationKey: string | undefined;
  /** ONCALL_DEMO_WEBHOOK_URL: a local receiver the demo user Alice gets as a webhook contact method. */
  demoWebhookUrl: string | undefined;
  /** DATABASE_URL only: opening a connection (ONCALL_DB_CONNECT_TIMEOUT_MS). */
  dbConnectTimeoutMs: number;
  /** DATABASE_URL only: one statement, server- and client-side (ONCALL_DB_STATEMENT_TIMEOUT_MS). */
  dbStatementTimeoutMs: number;
}

export interface AwsDatabaseConfig {
  databaseResourceArn: string;
  databaseSecretArn: string;
  databaseName: string;
}

export interface AwsConfig extends SharedConfig, AwsDatabaseConfig {
  /** Only the API Lambda reads the admin token; the others run without it. */
  adminTokenSecretArn: string | undefined;
}

export function readEmbeddedConfig(env: Env): EmbeddedConfig {
  return {
    ...readShared(env),
    port: integer(env, "PORT", 8080, { min: 0, max: 65535 }),
    host: optional(env, "HOST") ?? "127.0.0.1",
    dataDir: optional(env, "ONCALL_DATA_DIR") ?? ".oncall",
    databaseUrl: optional(env, "DATABASE_URL"),
    adminToken: minLength(env, "ONCALL_ADMIN_TOKEN", 16),
    demoIntegrationKey: minLength(env, "ONCALL_DEMO_INTEGRATION_KEY", 16),
    demoWebhookUrl: demoWebhookUrl(env),
    dbConnectTimeoutMs: integer(env, "ONCALL_DB_CONNECT_TIMEOUT_MS", 3_000, { min: 100, max: 600_000 }),
    dbStatementTimeoutMs: integer(env, "ONCALL_DB_STATEMENT_TIMEOUT_MS", 3_000, { min: 100, max: 600_000 }),
  };
}

export function readAwsConfig(env: Env, options: { adminToken: boolean }): AwsConfig {
  return {
    ...readShared(env),
    ...readAwsDatabaseConfig(env),
    adminTokenSecretArn: options.adminToken ? required(env, "ADMIN_TOKEN_SECRET_ARN") : undefined,
  };
}

export function readAwsDatabaseConfig(env: Env): AwsDatabaseConfig {
  return {
    databaseResourceArn: required(env, "DATABASE_RESOURCE_ARN"),
    databaseSecretArn: required(env, "DATABASE_SECRET_ARN"),
    databaseName: required(env, "DATABASE_NAME"),
  };
}

function readShared(env: Env): SharedConfig {
  const origins = optional(env, "ONCALL_CORS_ORIGINS") ?? "*";
  return {
    ingestRateLimitPerMinute: integer(env, "ONCALL_INGEST_RATE_LIMIT_PER_MINUTE", 600, {
      min: 1,
      max: 1_000_000,
    }),
    ingestAlertLimitPerMinute: integer(env, "ONCALL_INGEST_ALERT_LIMIT_PER_MINUTE", 20_000, {
      min: 1,
      max: 100_000_000,
    }),
    autoResolveAfterDays: optional(env, "ONCALL_AUTO_RESOLVE_AFTER_DAYS")
      ? integer(env, "ONCALL_AUTO_RESOLVE_AFTER_DAYS", 0, { min: 1, max: 3650 })
      : undefined,
    corsAllowedOrigins: origins
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    directory: readDirectoryConfig(env),
  };
}

function demoWebhookUrl(env: Env): string | undefined {
  const url = optional(env, "ONCALL_DEMO_WEBHOOK_URL");
  if (url === undefined) return undefined;
  try {
    return requireWebhookUrl(url, "ONCALL_DEMO_WEBHOOK_URL", { allowLoopbackHttp: true });
  } catch (err) {
    throw new ConfigError("ONCALL_DEMO_WEBHOOK_URL", (err as Error).message.replace(/^[^:]+: /, ""));
  }
}

function readDirectoryConfig(env: Env): RemoteDirectoryConfig | undefined {
  const url = optional(env, "ONCALL_DIRECTORY_URL");
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError("ONCALL_DIRECTORY_URL", `is not a URL: "${url}"`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError("ONCALL_DIRECTORY_URL", `must be an http(s) URL of kneutral-api, got "${url}"`);
  }
  const token = optional(env, "ONCALL_DIRECTORY_TOKEN");
  const tokenSecretArn = optional(env, "ONCALL_DIRECTORY_TOKEN_SECRET_ARN");
  if (token === undefined && tokenSecretArn === undefined) {
    throw new ConfigError(
      "ONCALL_DIRECTORY_TOKEN",
      "is required when ONCALL_DIRECTORY_URL is set (or ONCALL_DIRECTORY_TOKEN_SECRET_ARN on AWS)",
    );
  }
  return {
    url: url.replace(/\/+$/, ""),
    token,
    tokenSecretArn,
    cacheTtlSeconds: integer(env, "ONCALL_DIRECTORY_CACHE_TTL_SECONDS", 60, { min: 1, max: 3600 }),
    timeoutMs: integer(env, "ONCALL_DIRECTORY_TIMEOUT_MS", 2_000, { min: 100, max: 30_000 }),
  };
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(name, "is required but not set");
  return value;
}

function minLength(env: Env, name: string, length: number): string | undefined {
  const value = optional(env, name);
  if (value !== undefined && value.length < length) {
    throw new ConfigError(name, `must be at least ${length} characters long`);
  }
  return value;
}

function integer(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(name, `must be an integer from ${range.min} to ${range.max}, got "${raw}"`);
  }
  return value;
}
