import { randomBytes } from "node:crypto";
import {
  type ArrayValue,
  BadRequestException,
  BeginTransactionCommand,
  type BeginTransactionCommandInput,
  type ColumnMetadata,
  CommitTransactionCommand,
  type CommitTransactionCommandInput,
  DatabaseErrorException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  type ExecuteStatementCommandOutput,
  type Field,
  RDSDataClient,
  RollbackTransactionCommand,
  type RollbackTransactionCommandInput,
  type SqlParameter,
  TransactionNotFoundException,
  UnsupportedResultException,
} from "@aws-sdk/client-rds-data";
import type { PGlite } from "@electric-sql/pglite";
import { types as pgliteTypes } from "@electric-sql/pglite";
import { mockClient } from "aws-sdk-client-mock";

/**
 * The RDS Data API (Aurora PostgreSQL) in process, over a PGlite instance, for tests that run the
 * Data API driver without AWS. It keeps the service's habits that make SQL fail in production:
 * - `:name` parameters; a stringValue is typed varchar, longValue int8, doubleValue float8,
 *   booleanValue bool, blobValue bytea, isNull unknown; typeHint JSON → json, TIMESTAMP → timestamp,
 *   DATE, TIME, UUID, DECIMAL likewise (so `jsonb_to_recordset(:p)` needs a cast, as in AWS);
 *   no array parameters;
 * - results as `records` of Fields + `columnMetadata` typeNames as Postgres spells them; int8 as a
 *   JSON number (what the SDK makes of it); timestamptz as UTC text without offset; numeric,
 *   json, date... as text; arrays as arrayValue (multi-dimensional ones refused);
 * - `numberOfRecordsUpdated` is 0 for statements that return rows (RETURNING included);
 * - SQL errors are DatabaseErrorException with "ERROR: <message>; SQLState: <code>";
 * - a transaction id pins one session. PGlite has a single session, so a transaction holds it and
 *   every other call waits until the transaction ends (a deadlock shows as a timeout error).
 *
 * Not emulated: BatchExecuteStatement, formatRecordsAs JSON, resultSetOptions, the 3-minute
 * transaction timeout, "serial" typeNames for serial columns.
 */
export interface DataApiEmulator {
  /** A real RDSDataClient whose `send` is answered by the emulator. */
  readonly client: RDSDataClient;
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
  /** Every ExecuteStatement input received, in order (for tests that assert on the wire). */
  readonly statements: ExecuteStatementCommandInput[];
  /** Rolls back open transactions and detaches the mock; the PGlite instance stays the caller's. */
  close(): Promise<void>;
}

export interface DataApiEmulatorOptions {
  /** How long a call may wait for another transaction to end before failing; default 10 s. */
  waitTimeoutMs?: number;
}

const TIMESTAMPTZ = 1184;

export async function createDataApiEmulator(
  pg: PGlite,
  options: DataApiEmulatorOptions = {},
): Promise<DataApiEmulator> {
  const waitTimeoutMs = options.waitTimeoutMs ?? 10_000;
  const resourceArn = "arn:aws:rds:eu-west-1:123456789012:cluster:oncall-emulated";
  const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oncall-emulated";
  const database = "oncall";
  const statements: ExecuteStatementCommandInput[] = [];

  // Aurora's default parameter group runs sessions in UTC.
  await pg.exec("set timezone to 'UTC'");
  const catalog = await loadTypeCatalog(pg);
  const gate = createGate();
  const transactions = new Map<string, () => void>();

  const client = new RDSDataClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "emulator", secretAccessKey: "emulator" },
  });
  const mock = mockClient(client);

  const checkTarget = (input: { resourceArn?: string | undefined; secretArn?: string | undefined }) => {
    if (input.resourceArn !== resourceArn || input.secretArn !== secretArn) {
      throw new BadRequestException({ message: "unknown resourceArn or secretArn", $metadata: {} });
    }
  };
  const transaction = (id: string | undefined) => {
    const release = id ? transactions.get(id) : undefined;
    if (!id || !release) {
      throw new TransactionNotFoundException({ message: `Transaction ${id} is not found`, $metadata: {} });
    }
    return release;
  };

  mock.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
    statements.push(input);
    checkTarget(input);
    if (input.formatRecordsAs && input.formatRecordsAs !== "NONE") {
      throw new Error("data-api emulator: formatRecordsAs JSON is not emulated");
    }
    const bound = bindParameters(input.sql ?? "", input.parameters ?? []);
    const run = () =>
      pg.query<unknown[]>(bound.sql, bound.values, {
        rowMode: "array",
        parsers: catalog.rawParsers,
        serializers: rawSerializers,
        paramTypes: bound.types,
      });
    let result: Awaited<ReturnType<typeof run>>;
    try {
      if (input.transactionId) {
        transaction(input.transactionId);
        result = await run();
      } else {
        const release = await gate.acquire(waitTimeoutMs, "ExecuteStatement");
        try {
          result = await run();
        } finally {
          release();
        }
      }
    } catch (err) {
      throw toServiceError(err);
    }
    return toResponse(result, catalog, input.includeResultMetadata === true);
  });

  mock.on(BeginTransactionCommand).callsFake(async (input: BeginTransactionCommandInput) => {
    checkTarget(input);
    const release = await gate.acquire(waitTimeoutMs, "BeginTransaction");
    try {
      await pg.query("begin");
    } catch (err) {
      release();
      throw toServiceError(err);
    }
    const transactionId = randomBytes(96).toString("base64");
    transactions.set(transactionId, release);
    return { transactionId };
  });

  const end = async (input: CommitTransactionCommandInput | RollbackTransactionCommandInput, sql: string) => {
    checkTarget(input);
    const release = transaction(input.transactionId);
    transactions.delete(input.transactionId!);
    try {
      // COMMIT of a transaction that hit an error answers ROLLBACK; the service reports success
      // all the same (JDBC's default), which is why the driver tracks failed statements itself.
      await pg.query(sql);
    } catch (err) {
      throw toServiceError(err);
    } finally {
      release();
    }
  };
  mock.on(CommitTransactionCommand).callsFake(async (input: CommitTransactionCommandInput) => {
    await end(input, "commit");
    return { transactionStatus: "Transaction Committed" };
  });
  mock.on(RollbackTransactionCommand).callsFake(async (input: RollbackTransactionCommandInput) => {
    await end(input, "rollback");
    return { transactionStatus: "Rollback Complete" };
  });

  return {
    client,
    resourceArn,
    secretArn,
    database,
    statements,
    async close() {
      for (const [id, release] of transactions) {
        transactions.delete(id);
        await pg.query("rollback").catch(() => {});
        release();
      }
      mock.restore();
      client.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Serializing access to the single PGlite session

interface Gate {
  /** Resolves with a release function once every earlier holder has released. */
  acquire(timeoutMs: number, what: string): Promise<() => void>;
}

function createGate(): Gate {
  let tail: Promise<void> = Promise.resolve();
  return {
    acquire(timeoutMs, what) {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const turn = tail.then(() => release);
      tail = tail.then(() => held);
      return new Promise((resolve, reject) => {
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          reject(
            new Error(
              `data-api emulator: ${what} waited ${timeoutMs} ms for a transaction to end. PGlite has one ` +
                "session, so a statement outside an open transaction waits for it: inside a transaction, use trx, not db.",
            ),
          );
        }, timeoutMs);
        void turn.then((releaseTurn) => {
          if (timedOut) {
            releaseTurn();
          } else {
            clearTimeout(timer);
            resolve(releaseTurn);
          }
        });
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Parameters: :name → $n with the Data API's parameter types

const paramOid = { varchar: 1043, int8: 20, float8: 701, bool: 16, bytea: 17, unknown: 0 } as const;
const typeHintOid: Record<string, number> = {
  JSON: 114,
  TIMESTAMP: 1114,
  DATE: 1082,
  TIME: 1083,
  UUID: 2950,
  DECIMAL: 1700,
};

const identity = (x: unknown) => x;
const rawSerializers = new Proxy({}, { get: () => identity }) as Record<number, (x: unknown) => string>;

interface BoundStatement {
  sql: string;
  values: (string | null)[];
  types: number[];
}

export function bindParameters(sql: string, parameters: SqlParameter[]): BoundStatement {
  const byName = new Map(parameters.map((p) => [p.name ?? "", p]));
  const position = new Map<string, number>();
  const values: (string | null)[] = [];
  const types: number[] = [];
  const text = replaceNamedParameters(sql, (name) => {
    let n = position.get(name);
    if (n === undefined) {
      const parameter = byName.get(name);
      if (!parameter) {
        throw new DatabaseErrorException({
          message: `No value specified for parameter ${name}.`,
          $metadata: {},
        });
      }
      const [value, type] = toPositional(parameter);
      values.push(value);
      types.push(type);
      n = values.length;
      position.set(name, n);
    }
    return `$${n}`;
  });
  return { sql: text, values, types };
}

function toPositional(parameter: SqlParameter): [string | null, number] {
  const { value, typeHint } = parameter;
  if (!value || value.isNull) return [null, paramOid.unknown];
  if (value.arrayValue !== undefined) {
    throw new BadRequestException({ message: "Array parameters are not supported.", $metadata: {} });
  }
  if (typeHint && value.stringValue === undefined) {
    throw new BadRequestException({ message: `typeHint ${typeHint} needs a stringValue`, $metadata: {} });
  }
  if (value.stringValue !== undefined) {
    return [value.stringValue, typeHint ? (typeHintOid[typeHint] ?? paramOid.varchar) : paramOid.varchar];
  }
  if (value.longValue !== undefined) return [String(value.longValue), paramOid.int8];
  if (value.doubleValue !== undefined) return [String(value.doubleValue), paramOid.float8];
  if (value.booleanValue !== undefined) return [value.booleanValue ? "true" : "false", paramOid.bool];
  if (value.blobValue !== undefined)
    return [`\\x${Buffer.from(value.blobValue).toString("hex")}`, paramOid.bytea];
  throw new BadRequestException({ message: `unsupported parameter ${parameter.name}`, $metadata: {} });
}

/**
 * Replaces `:name` outside string literals, quoted identifiers, dollar-quoted bodies and comments;
 * `::` casts stay. Written apart from the driver's tokenizer so that one does not hide the other's bug.
 */
function replaceNamedParameters(sql: string, replace: (name: string) => string): string {
  let out = "";
  let i = 0;
  const copyUntil = (end: number) => {
    out += sql.slice(i, end);
    i = end;
  };
  while (i < sql.length) {
    const rest = sql.slice(i);
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const escapes = c === "'" && /(^|[^A-Za-z0-9_])[eE]$/.test(sql.slice(Math.max(0, i - 2), i));
      let j = i + 1;
      while (j < sql.length) {
        if (escapes && sql[j] === "\\") j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      copyUntil(Math.min(j + 1, sql.length));
    } else if (rest.startsWith("--")) {
      const nl = sql.indexOf("\n", i);
      copyUntil(nl === -1 ? sql.length : nl);
    } else if (rest.startsWith("/*")) {
      let depth = 0;
      let j = i;
      do {
        if (sql.startsWith("/*", j)) {
          depth++;
          j += 2;
        } else if (sql.startsWith("*/", j)) {
          depth--;
          j += 2;
        } else j++;
      } while (depth > 0 && j < sql.length);
      copyUntil(j);
    } else if (c === "$" && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        copyUntil(close === -1 ? sql.length : close + tag.length);
      } else copyUntil(i + 1);
    } else if (rest.startsWith("::")) {
      copyUntil(i + 2);
    } else if (c === ":" && /^:[A-Za-z_]/.test(rest)) {
      const name = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(rest)![1]!;
      out += replace(name);
      i += name.length + 1;
    } else {
      copyUntil(i + 1);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Results in the Data API's shapes

interface TypeInfo {
  name: string;
  /** For array types: the element type's name. */
  element?: string;
  delimiter: string;
}

interface TypeCatalog {
  rawParsers: Record<number, (text: string) => string>;
  byOid: Map<number, TypeInfo>;
}

/** Every type's raw text parser (PGlite parses by oid otherwise) and its name for columnMetadata. */
async function loadTypeCatalog(pg: PGlite): Promise<TypeCatalog> {
  const { rows } = await pg.query<{ oid: number; typname: string; element: string | null; typdelim: string }>(
    `select t.oid::int as oid, t.typname, e.typname as element, t.typdelim
       from pg_type t left join pg_type e on e.oid = t.typelem and t.typcategory = 'A'`,
  );
  const rawParsers: Record<number, (text: string) => string> = {};
  const byOid = new Map<number, TypeInfo>();
  for (const row of rows) {
    rawParsers[row.oid] = (text) => text;
    byOid.set(row.oid, {
      name: row.typname,
      ...(row.element ? { element: row.element } : {}),
      delimiter: row.typdelim,
    });
  }
  return { rawParsers, byOid };
}

const longTypes = new Set(["int2", "int4", "int8", "oid"]);
const doubleTypes = new Set(["float4", "float8"]);

/** java.sql.Types codes as pgjdbc reports them (the service is JDBC underneath). */
function jdbcType(typeName: string): number {
  if (typeName.startsWith("_")) return 2003;
  const codes: Record<string, number> = {
    int2: 5,
    int4: 4,
    int8: -5,
    oid: -5,
    float4: 7,
    float8: 8,
    numeric: 2,
    bool: -7,
    bytea: -2,
    text: 12,
    varchar: 12,
    bpchar: 1,
    date: 91,
    time: 92,
    timestamp: 93,
    timestamptz: 93,
  };
  return codes[typeName] ?? 1111;
}

function toResponse(
  result: { rows: unknown[][]; fields: { name: string; dataTypeID: number }[]; affectedRows?: number },
  catalog: TypeCatalog,
  includeResultMetadata: boolean,
): ExecuteStatementCommandOutput {
  const $metadata = { httpStatusCode: 200 };
  if (result.fields.length === 0) {
    return { $metadata, numberOfRecordsUpdated: result.affectedRows ?? 0, generatedFields: [] };
  }
  const types = result.fields.map(
    (f) => catalog.byOid.get(f.dataTypeID) ?? { name: "unknown", delimiter: "," },
  );
  const records = result.rows.map((row) =>
    row.map((value, i) => toField(value as string | null, types[i]!, result.fields[i]!.dataTypeID)),
  );
  const output: ExecuteStatementCommandOutput = { $metadata, numberOfRecordsUpdated: 0, records };
  if (includeResultMetadata) {
    output.columnMetadata = result.fields.map((f, i): ColumnMetadata => {
      const type = types[i]!;
      return {
        name: f.name,
        label: f.name,
        typeName: type.name,
        type: jdbcType(type.name),
        arrayBaseColumnType: type.element ? jdbcType(type.element) : 0,
        schemaName: "",
        tableName: "",
      };
    });
  }
  return output;
}

function toField(text: string | null, type: TypeInfo, oid: number): Field {
  if (text === null) return { isNull: true };
  if (type.element) {
    const parsed = pgliteTypes.arrayParser(text, (x: string) => x, oid) as unknown[];
    return { arrayValue: toArrayValue(parsed, type.element) };
  }
  return scalarField(text, type.name, oid === TIMESTAMPTZ);
}

function scalarField(text: string, typeName: string, timestamptz: boolean): Field {
  if (longTypes.has(typeName)) return { longValue: Number(text) };
  if (doubleTypes.has(typeName)) return { doubleValue: Number(text) };
  if (typeName === "bool") return { booleanValue: text === "t" };
  if (typeName === "bytea") return { blobValue: Uint8Array.from(Buffer.from(text.slice(2), "hex")) };
  // timestamptz in the session zone (UTC) without the "+00" suffix.
  return { stringValue: timestamptz ? text.replace(/\+00$/, "") : text };
}

function toArrayValue(items: unknown[], element: string): ArrayValue {
  if (items.some(Array.isArray)) {
    throw new UnsupportedResultException({
      message: "The result contains an unsupported data type: multidimensional array",
      $metadata: {},
    });
  }
  const texts = items as (string | null)[];
  if (longTypes.has(element))
    return { longValues: texts.map((t) => (t === null ? t : Number(t))) as number[] };
  if (doubleTypes.has(element))
    return { doubleValues: texts.map((t) => (t === null ? t : Number(t))) as number[] };
  if (element === "bool")
    return { booleanValues: texts.map((t) => (t === null ? t : t === "t")) as boolean[] };
  if (element === "bytea") {
    throw new UnsupportedResultException({
      message: "The result contains an unsupported data type: bytea[]",
      $metadata: {},
    });
  }
  const strip = element === "timestamptz";
  return { stringValues: texts.map((t) => (t !== null && strip ? t.replace(/\+00$/, "") : t)) as string[] };
}

// ---------------------------------------------------------------------------------------------
// Errors

function toServiceError(err: unknown): unknown {
  const e = err as { message?: string; code?: string; detail?: string; position?: string; severity?: string };
  if (!(err instanceof Error) || typeof e.code !== "string" || !e.severity) return err;
  let message = `ERROR: ${e.message}`;
  if (e.detail) message += `\n  Detail: ${e.detail}`;
  if (e.position) message += `\n  Position: ${e.position}`;
  return new DatabaseErrorException({ message: `${message}; SQLState: ${e.code}`, $metadata: {} });
}
