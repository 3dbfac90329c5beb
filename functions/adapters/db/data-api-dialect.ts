import type {
  ArrayValue,
  ColumnMetadata,
  ExecuteStatementCommandInput,
  ExecuteStatementCommandOutput,
  Field,
  RDSDataClient,
  SqlParameter,
} from "@aws-sdk/client-rds-data";
import {
  AbortedTransactionError,
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import { type ClientSource, lazily, resolveClient } from "../aws/lazy-client.ts";
import { createTypeOverrides, parseInt8 } from "./type-parsers.ts";

export interface DataApiDialectConfig {
  /** The client, or a loader that creates it on the first statement (see aws/lazy-client.ts). */
  client: ClientSource<RDSDataClient>;
  resourceArn: string;
  secretArn: string;
  database: string;
}

/**
 * Kysely over the RDS Data API (Aurora inside Lambda: no VPC, no connection pool). The SQL is
 * Postgres SQL compiled by Kysely's own Postgres compiler; only the wire differs. Values come back
 * as node-postgres returns them with type-parsers.ts, so code cannot tell the paths apart.
 *
 * @example
 * const db = new Kysely<Database>({ dialect: createDataApiDialect({ client, resourceArn, secretArn, database: "oncall" }) });
 */
export function createDataApiDialect(config: DataApiDialectConfig): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => createDataApiDriver(config),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

/** A statement the Data API rejected with a Postgres error; `code` is the SQLSTATE, as on a `pg` error. */
export class DataApiStatementError extends Error {
  override readonly name = "DataApiStatementError";
  readonly code: string | undefined;
  readonly detail: string | undefined;

  constructor(message: string, fields: { code?: string; detail?: string }, options?: ErrorOptions) {
    super(message, options);
    this.code = fields.code;
    this.detail = fields.detail;
  }
}

// ---------------------------------------------------------------------------------------------
// Driver and connection

/** No pool: every "connection" is a cheap handle; only a transaction pins a server session (its id). */
function createDataApiDriver(config: DataApiDialectConfig): Driver {
  // The SDK package (its command classes) is imported with the client, on the first statement.
  const connect = lazily(async (): Promise<DataApiSession> => {
    const [client, sdk] = await Promise.all([
      resolveClient(config.client),
      import("@aws-sdk/client-rds-data"),
    ]);
    return { ...config, client, sdk };
  });
  return {
    async init() {},
    async acquireConnection() {
      return new DataApiConnection(await connect());
    },
    async beginTransaction(connection, settings) {
      await asDataApi(connection).begin(settings);
    },
    async commitTransaction(connection) {
      await asDataApi(connection).commit();
    },
    async rollbackTransaction(connection) {
      await asDataApi(connection).rollback();
    },
    async savepoint(connection, name) {
      await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
    },
    async rollbackToSavepoint(connection, name) {
      const c = asDataApi(connection);
      await c.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
      c.recovered();
    },
    async releaseSavepoint(connection, name) {
      await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
    },
    async releaseConnection() {},
    // The client belongs to the caller (it is shared by every Kysely instance of the Lambda).
    async destroy() {},
  };
}

function asDataApi(connection: DatabaseConnection): DataApiConnection {
  if (!(connection instanceof DataApiConnection)) throw new Error("not a Data API connection");
  return connection;
}

/** What a connection sends with: the resolved client and the SDK package's command classes. */
interface DataApiSession extends Omit<DataApiDialectConfig, "client"> {
  client: RDSDataClient;
  sdk: typeof import("@aws-sdk/client-rds-data");
}

class DataApiConnection implements DatabaseConnection {
  readonly #config: DataApiSession;
  #transactionId: string | undefined;
  // Postgres aborts a transaction at its first failed statement and then answers COMMIT with
  // ROLLBACK; the Data API does not tell us, so we remember it to fail the commit as `pg` does.
  #aborted = false;

  constructor(config: DataApiSession) {
    this.#config = config;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { client, sdk, resourceArn, secretArn, database } = this.#config;
    const input: ExecuteStatementCommandInput = {
      resourceArn,
      secretArn,
      database,
      sql: toDataApiSql(compiledQuery.sql),
      includeResultMetadata: true,
    };
    if (compiledQuery.parameters.length > 0) {
      input.parameters = compiledQuery.parameters.map((value, i) => toSqlParameter(`p${i + 1}`, value));
    }
    if (this.#transactionId) input.transactionId = this.#transactionId;
    let output: ExecuteStatementCommandOutput;
    try {
      output = await client.send(new sdk.ExecuteStatementCommand(input));
    } catch (err) {
      if (this.#transactionId) this.#aborted = true;
      throw toStatementError(err);
    }
    const records = output.records ?? [];
    const rows = decodeRecords(records, output.columnMetadata ?? []) as R[];
    if (!isRowCountingStatement(compiledQuery)) return { rows };
    // With RETURNING the service reports 0 updated records and returns the rows instead.
    const affected = Math.max(output.numberOfRecordsUpdated ?? 0, records.length);
    return { rows, numAffectedRows: BigInt(affected) };
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error(
      "streamQuery is not supported over the RDS Data API (no server-side cursors across calls); page with limit/offset or keyset queries",
    );
  }

  async begin(settings: TransactionSettings): Promise<void> {
    const { client, sdk, resourceArn, secretArn, database } = this.#config;
    const out = await client.send(new sdk.BeginTransactionCommand({ resourceArn, secretArn, database }));
    if (!out.transactionId) throw new Error("BeginTransaction returned no transactionId");
    this.#transactionId = out.transactionId;
    this.#aborted = false;
    // BeginTransaction takes no isolation level: set it as the transaction's first statement.
    const characteristics = [
      settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : "",
      settings.accessMode ?? "",
    ].filter(Boolean);
    if (characteristics.length > 0) {
      try {
        await this.executeQuery(CompiledQuery.raw(`set transaction ${characteristics.join(" ")}`));
      } catch (err) {
        await this.rollback().catch(() => {});
        throw err;
      }
    }
  }

  async commit(): Promise<void> {
    const transactionId = this.#requireTransaction();
    const { client, sdk, resourceArn, secretArn } = this.#config;
    if (this.#aborted) {
      try {
        await client.send(new sdk.RollbackTransactionCommand({ resourceArn, secretArn, transactionId }));
      } finally {
        this.#endTransaction();
      }
      throw new AbortedTransactionError();
    }
    try {
      await client.send(new sdk.CommitTransactionCommand({ resourceArn, secretArn, transactionId }));
    } finally {
      this.#endTransaction();
    }
  }

  async rollback(): Promise<void> {
    const transactionId = this.#requireTransaction();
    const { client, sdk, resourceArn, secretArn } = this.#config;
    try {
      await client.send(new sdk.RollbackTransactionCommand({ resourceArn, secretArn, transactionId }));
    } finally {
      this.#endTransaction();
    }
  }

  /** A successful `rollback to savepoint` makes an aborted transaction usable again. */
  recovered(): void {
    this.#aborted = false;
  }

  #requireTransaction(): string {
    if (!this.#transactionId) throw new Error("no transaction is open on this Data API connection");
    return this.#transactionId;
  }

  #endTransaction(): void {
    this.#transactionId = undefined;
    this.#aborted = false;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Kysely's pg driver reports numAffectedRows for these command tags only. */
const rowCountingNodes = new Set(["InsertQueryNode", "UpdateQueryNode", "DeleteQueryNode", "MergeQueryNode"]);
const rowCountingCommands = new Set(["insert", "update", "delete", "merge"]);

function isRowCountingStatement(query: CompiledQuery): boolean {
  if (query.query.kind !== "RawNode") return rowCountingNodes.has(query.query.kind);
  const command = statementCommand(query.sql);
  return command !== undefined && rowCountingCommands.has(command);
}

/**
 * Data API errors carry the Postgres error as text ("ERROR: <message>...; SQLState: 23505");
 * lift the SQLSTATE into `code` so callers test `err.code` the same way on every path.
 */
export function toStatementError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err.name !== "DatabaseErrorException" && err.name !== "BadRequestException") return err;
  const sqlState = /SQLState: ([0-9A-Z]{5})/.exec(err.message)?.[1];
  if (!sqlState) return err;
  const text = err.message.replace(/^ERROR:\s*/, "");
  const message = text.split(/\n|; SQLState:/)[0]?.trim() ?? text;
  const detail = /\n\s*Detail: ([^\n]*?)(?:; SQLState:|\n|$)/.exec(text)?.[1];
  return new DataApiStatementError(
    message,
    { code: sqlState, ...(detail ? { detail } : {}) },
    { cause: err },
  );
}

// ---------------------------------------------------------------------------------------------
// SQL text: $n placeholders → :pn named parameters

export type SqlToken =
  | { kind: "code"; text: string }
  | { kind: "placeholder"; text: string; index: number }
  | { kind: "quoted"; text: string };

const identChar = /[A-Za-z0-9_$\u0080-\uffff]/;
const dollarTag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Splits Postgres SQL into code, `$n` placeholders and "quoted" spans (string literals, E-strings,
 * quoted identifiers, dollar-quoted bodies, comments) in which a `$1` is just text.
 */
export function tokenizeSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let code = "";
  const push = (token: SqlToken) => {
    if (code) tokens.push({ kind: "code", text: code });
    code = "";
    tokens.push(token);
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'") {
      const prev = sql[i - 1];
      const escapes = (prev === "E" || prev === "e") && !identChar.test(sql[i - 2] ?? "");
      const end = endOfString(sql, i, escapes);
      if (escapes) code = code.slice(0, -1);
      push({ kind: "quoted", text: sql.slice(escapes ? i - 1 : i, end) });
      i = end;
    } else if (c === '"') {
      const end = endOfString(sql, i, false, '"');
      push({ kind: "quoted", text: sql.slice(i, end) });
      i = end;
    } else if (c === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      const end = newline === -1 ? sql.length : newline;
      push({ kind: "quoted", text: sql.slice(i, end) });
      i = end;
    } else if (c === "/" && next === "*") {
      const end = endOfBlockComment(sql, i);
      push({ kind: "quoted", text: sql.slice(i, end) });
      i = end;
    } else if (c === "$" && !identChar.test(sql[i - 1] ?? "")) {
      const digits = /^\$(\d+)/.exec(sql.slice(i));
      const tag = digits ? undefined : dollarTag.exec(sql.slice(i))?.[0];
      if (digits) {
        push({ kind: "placeholder", text: digits[0], index: Number(digits[1]) });
        i += digits[0].length;
      } else if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        const end = close === -1 ? sql.length : close + tag.length;
        push({ kind: "quoted", text: sql.slice(i, end) });
        i = end;
      } else {
        code += c;
        i++;
      }
    } else {
      code += c;
      i++;
    }
  }
  if (code) tokens.push({ kind: "code", text: code });
  return tokens;
}

function endOfString(sql: string, start: number, backslashEscapes: boolean, quote = "'"): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === "\\") {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** `$1` → `:p1`; everything else (casts `::`, literals, comments) is left byte for byte. */
export function toDataApiSql(sql: string): string {
  return tokenizeSql(sql)
    .map((t) => (t.kind === "placeholder" ? `:p${t.index}` : t.text))
    .join("");
}

const commandWords = new Set(["select", "insert", "update", "delete", "merge", "values", "table"]);

/**
 * The statement's command as its first keyword, lower case ("create" for `create table`), looking
 * past a WITH clause ("update" for `with x as (...) update ...`), as the Postgres command tag does.
 */
export function statementCommand(sql: string): string | undefined {
  let depth = 0;
  let withClause = false;
  for (const token of tokenizeSql(sql)) {
    if (token.kind !== "code") continue;
    for (const part of token.text.match(/[()]|[A-Za-z_]+/g) ?? []) {
      if (part === "(") depth++;
      else if (part === ")") depth--;
      else if (depth === 0) {
        const word = part.toLowerCase();
        if (!withClause && word === "with") withClause = true;
        else if (!withClause || commandWords.has(word)) return word;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Parameters

export class DataApiParameterError extends Error {
  override readonly name = "DataApiParameterError";
}

/**
 * One query parameter as a Data API SqlParameter. The Data API has no array parameters: batch
 * writes pass one JSON parameter through `jsonb_to_recordset(cast(:p as jsonb))`.
 */
export function toSqlParameter(name: string, value: unknown): SqlParameter {
  if (value === null || value === undefined) return { name, value: { isNull: true } };
  switch (typeof value) {
    case "boolean":
      return { name, value: { booleanValue: value } };
    case "number":
      if (!Number.isFinite(value))
        throw new DataApiParameterError(`parameter ${name}: ${value} cannot be sent`);
      return Number.isSafeInteger(value)
        ? { name, value: { longValue: value } }
        : { name, value: { doubleValue: value } };
    case "bigint":
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new DataApiParameterError(`parameter ${name}: bigint ${value} exceeds Number.MAX_SAFE_INTEGER`);
      }
      return { name, value: { longValue: Number(value) } };
    case "string":
      return { name, value: { stringValue: value } };
    case "object":
      break;
    default:
      throw new DataApiParameterError(`parameter ${name}: a ${typeof value} cannot be sent`);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new DataApiParameterError(`parameter ${name}: invalid Date`);
    return { name, value: { stringValue: formatTimestamp(value) }, typeHint: "TIMESTAMP" };
  }
  if (value instanceof Uint8Array) return { name, value: { blobValue: value } };
  if (Array.isArray(value)) {
    throw new DataApiParameterError(
      `parameter ${name}: the Data API takes no array parameters; pass JSON.stringify(rows) and read it with jsonb_to_recordset(cast(... as jsonb))`,
    );
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new DataApiParameterError(
      `parameter ${name}: only plain objects are sent (as JSON), not ${proto?.constructor?.name}`,
    );
  }
  return { name, value: { stringValue: JSON.stringify(value) }, typeHint: "JSON" };
}

/** 'YYYY-MM-DD HH:MM:SS.mmm' in UTC: the Data API's TIMESTAMP format (Aurora sessions run in UTC). */
function formatTimestamp(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "");
}

// ---------------------------------------------------------------------------------------------
// Results

/**
 * Postgres type oids by the type names the Data API reports, so each value goes through the very
 * parser node-postgres would use (type-parsers.ts): identical values by construction.
 */
const oidByTypeName: Record<string, number> = {
  bool: 16,
  bytea: 17,
  int8: 20,
  bigserial: 20,
  serial8: 20,
  int2: 21,
  smallserial: 21,
  serial2: 21,
  int4: 23,
  serial: 23,
  serial4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
  _bool: 1000,
  _bytea: 1001,
  _int2: 1005,
  _int4: 1007,
  _text: 1009,
  _bpchar: 1014,
  _varchar: 1015,
  _int8: 1016,
  _float4: 1021,
  _float8: 1022,
  _oid: 1028,
  _timestamp: 1115,
  _date: 1182,
  _time: 1183,
  _timestamptz: 1185,
  _interval: 1187,
  _numeric: 1231,
  _uuid: 2951,
  _json: 199,
  _jsonb: 3807,
};

const integerTypes = new Set([
  "int2",
  "int4",
  "int8",
  "serial",
  "bigserial",
  "smallserial",
  "serial2",
  "serial4",
  "serial8",
  "oid",
]);

const typeOverrides = createTypeOverrides();

function textParser(typeName: string): (text: string) => unknown {
  const oid = oidByTypeName[typeName];
  if (oid === undefined) return (text) => text;
  return typeOverrides.getTypeParser(oid, "text") as (text: string) => unknown;
}

/** Rows as objects keyed by column label, like node-postgres rows. */
export function decodeRecords(records: Field[][], columns: ColumnMetadata[]): Record<string, unknown>[] {
  const decoders = columns.map((c) => fieldDecoder(c.typeName ?? ""));
  return records.map((record) => {
    const row: Record<string, unknown> = {};
    record.forEach((field, i) => {
      const column = columns[i];
      const name = column?.label ?? column?.name ?? `?column?${i}`;
      row[name] = (decoders[i] ?? fieldDecoder(""))(field);
    });
    return row;
  });
}

/** One value by its column's typeName (as the Data API spells it: 'int8', 'jsonb', '_text'...). */
export function decodeField(field: Field, typeName: string): unknown {
  return fieldDecoder(typeName)(field);
}

function fieldDecoder(rawTypeName: string): (field: Field) => unknown {
  const typeName = rawTypeName.toLowerCase();
  const parse = textParser(typeName);
  return (field) => {
    if (field.isNull) return null;
    if (field.arrayValue !== undefined) return parse(arrayLiteral(field.arrayValue, typeName));
    if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
    if (field.booleanValue !== undefined) return field.booleanValue;
    // numeric arrives as text unless a caller asks for DOUBLE_OR_LONG; keep it text as pg does.
    if (field.longValue !== undefined) {
      return typeName === "numeric" ? String(field.longValue) : parseInt8(String(field.longValue));
    }
    if (field.doubleValue !== undefined)
      return typeName === "numeric" ? String(field.doubleValue) : field.doubleValue;
    if (field.stringValue !== undefined) {
      if (integerTypes.has(typeName)) return parseInt8(field.stringValue);
      // The Data API renders timestamptz in UTC without an offset.
      return parse(typeName === "timestamptz" ? `${field.stringValue}+00` : field.stringValue);
    }
    throw new Error(`unsupported Data API field for type ${rawTypeName}: ${JSON.stringify(field)}`);
  };
}

/**
 * The Postgres text form of an arrayValue, so that the array parser node-postgres uses for this
 * type produces the same JS array (e.g. int8[] as strings, as pg does).
 */
function arrayLiteral(array: ArrayValue, typeName: string): string {
  const timestamptz = typeName === "_timestamptz";
  const element = (value: unknown): string => {
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "boolean") return value ? "t" : "f";
    if (typeof value === "number") return String(value);
    const text = timestamptz ? `${value}+00` : String(value);
    return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  };
  const items: string[] =
    array.arrayValues?.map((a) => (a ? arrayLiteral(a, typeName) : "NULL")) ??
    (array.booleanValues ?? array.longValues ?? array.doubleValues ?? array.stringValues ?? []).map(element);
  return `{${items.join(",")}}`;
}
