import Handlebars from "handlebars";
import { type ContextShape, contextShape, type RenderContext } from "./context.ts";
import { TemplateRenderError } from "./errors.ts";
import { displayString, jsonStringContent } from "./escape.ts";
import {
  allowedHelpers,
  builtinHelpers,
  contextBlockHelpers,
  createHelpers,
  customHelpers,
} from "./helpers.ts";
import {
  MAX_EACH_ITERATIONS,
  MAX_PART_SOURCE_BYTES,
  MAX_RENDERED_PART_CHARS,
  type PartFormat,
  type TemplateProblem,
} from "./model.ts";

type Ast = hbs.AST.Program;
type AstNode = hbs.AST.Node;

/** A compiled part: context in, text out, within the render budget. */
export type CompiledPart = (context: RenderContext) => string;

/** Names that lead to an object's prototype: never a variable, whatever the runtime would allow. */
const forbiddenSegments: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

/** Data variables (`@index`…) Handlebars' built-ins provide, besides `@root`. */
const dataVariables: ReadonlySet<string> = new Set(["index", "key", "first", "last", "root"]);

// Handlebars' parser drops the position of a syntax error (its parseError throws the bare message);
// this keeps it. The parser is Handlebars' own module object, shared only by this process's templates.
interface ParseErrorHash {
  line?: number;
  text?: string;
  loc?: { last_line: number; last_column: number };
}
class HandlebarsSyntaxError extends Error {
  readonly hash: ParseErrorHash | undefined;
  constructor(message: string, hash: ParseErrorHash | undefined) {
    super(message);
    this.hash = hash;
  }
}
const parser = (Handlebars as unknown as { Parser: { parseError: (s: string, h: ParseErrorHash) => never } })
  .Parser;
parser.parseError = (message, hash) => {
  throw new HandlebarsSyntaxError(message, hash);
};

/** The syntax tree of a source, or the syntax error with its place. */
export function parseSource(
  source: string,
  part: string,
): { ast: Ast; problems: [] } | { ast: undefined; problems: TemplateProblem[] } {
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > MAX_PART_SOURCE_BYTES) {
    return {
      ast: undefined,
      problems: [
        problem(
          part,
          `is ${bytes} bytes; a template part is at most ${MAX_PART_SOURCE_BYTES} bytes (64 KiB)`,
        ),
      ],
    };
  }
  try {
    return { ast: Handlebars.parse(source), problems: [] };
  } catch (err) {
    return { ast: undefined, problems: [syntaxProblem(err, part)] };
  }
}

function syntaxProblem(err: unknown, part: string): TemplateProblem {
  const message = err instanceof Error ? err.message : String(err);
  // The first line says what; the rest is Handlebars' excerpt and token list, noise in an editor.
  const expecting = /\nExpecting (.*), got '(\w+)'/.exec(message);
  const token = err instanceof HandlebarsSyntaxError && err.hash?.text ? err.hash.text : expecting?.[2];
  const what = expecting
    ? `syntax error: unexpected ${expecting[2] === "EOF" ? "end of template" : `'${token}'`}`
    : `syntax error: ${message
        .split("\n")[0]!
        .replace(/ on line \d+[.:]?/, "")
        .replace(/ - \d+:\d+$/, "")}`;
  if (err instanceof HandlebarsSyntaxError && err.hash?.loc) {
    return { part, message: what, line: err.hash.loc.last_line, column: err.hash.loc.last_column + 1 };
  }
  const withLoc = err as { lineNumber?: number; column?: number; hash?: ParseErrorHash };
  if (typeof withLoc.lineNumber === "number") {
    return { part, message: what, line: withLoc.lineNumber, column: (withLoc.column ?? 0) + 1 };
  }
  const line = withLoc.hash?.line ?? Number(/on line (\d+)/.exec(message)?.[1] ?? -1);
  return {
    part,
    message: what,
    line: line >= 0 ? line + (withLoc.hash?.line !== undefined ? 1 : 0) : 0,
    column: 0,
  };
}

function problem(part: string, message: string, node?: AstNode): TemplateProblem {
  return { part, message, line: node?.loc.start.line ?? 0, column: node ? node.loc.start.column + 1 : 0 };
}

/**
 * Everything the sandbox refuses in a syntax tree, with places: unknown helpers, variables that the
 * render context does not have, prototype access, partials and decorators.
 */
export function checkAst(ast: Ast, part: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  /** Scopes, innermost last: the shape `this` has there (undefined: unknown, not checked). */
  const scopes: (ContextShape | undefined)[] = [contextShape];
  const blockParams: Map<string, ContextShape | undefined>[] = [];

  const visitProgram = (program: Ast | undefined) => {
    for (const statement of program?.body ?? []) visitStatement(statement);
  };

  const visitStatement = (node: hbs.AST.Statement) => {
    switch (node.type) {
      case "MustacheStatement": {
        const m = node as hbs.AST.MustacheStatement;
        visitCall(m.path, m.params, m.hash, false);
        break;
      }
      case "BlockStatement": {
        const b = node as hbs.AST.BlockStatement;
        const name = b.path.original;
        if (!b.path.data && b.path.parts.length === 1 && allowedHelpers.has(name)) {
          b.params.forEach(visitExpression);
          visitHash(b.hash);
          const shape = contextBlockHelpers.has(name) ? blockShape(name, b.params[0]) : scopes.at(-1);
          const params = new Map<string, ContextShape | undefined>();
          const [first, second] = b.program.blockParams ?? [];
          if (first) params.set(first, shape);
          if (second) params.set(second, "value");
          scopes.push(shape);
          blockParams.push(params);
          visitProgram(b.program);
          blockParams.pop();
          scopes.pop();
          visitProgram(b.inverse);
        } else if (b.params.length > 0 || b.hash) {
          problems.push(problem(part, `unknown helper "${name}"${knownHelpersHint}`, b.path));
        } else {
          // {{#alert}}…{{/alert}}: Mustache-style sections are not supported; say what to write.
          problems.push(
            problem(part, `"{{#${name}}}" is not a helper; use {{#if ${name}}} or {{#with ${name}}}`, b.path),
          );
        }
        break;
      }
      case "PartialStatement":
      case "PartialBlockStatement":
        problems.push(problem(part, "partials are not supported", node));
        break;
      case "Decorator":
      case "DecoratorBlock":
        problems.push(problem(part, "decorators are not supported", node));
        break;
      default:
        break; // content and comments
    }
  };

  const visitCall = (
    path: hbs.AST.PathExpression | hbs.AST.Literal,
    params: hbs.AST.Expression[],
    hash: hbs.AST.Hash | undefined,
    subExpression: boolean,
  ) => {
    if (path.type !== "PathExpression") return; // {{"literal"}}
    const p = path as hbs.AST.PathExpression;
    const isHelperName = !p.data && p.depth === 0 && p.parts.length === 1 && allowedHelpers.has(p.original);
    if (params.length > 0 || hash || subExpression) {
      if (!isHelperName) {
        problems.push(problem(part, `unknown helper "${p.original}"${knownHelpersHint}`, p));
      } else if (p.original === "lookup") {
        const key = params[1];
        if (key?.type === "StringLiteral" && forbiddenSegments.has((key as hbs.AST.StringLiteral).value)) {
          problems.push(problem(part, "prototype access is not allowed", key));
        }
      }
      params.forEach(visitExpression);
      visitHash(hash);
      return;
    }
    if (!isHelperName) visitPath(p);
  };

  const visitHash = (hash: hbs.AST.Hash | undefined) => {
    for (const pair of hash?.pairs ?? []) visitExpression(pair.value);
  };

  const visitExpression = (node: hbs.AST.Expression) => {
    if (node.type === "SubExpression") {
      const s = node as hbs.AST.SubExpression;
      visitCall(s.path, s.params, s.hash, true);
    } else if (node.type === "PathExpression") {
      visitPath(node as hbs.AST.PathExpression);
    }
  };

  const visitPath = (p: hbs.AST.PathExpression) => {
    const segments = p.parts;
    const bad = segments.find((s) => forbiddenSegments.has(s));
    if (bad) {
      problems.push(problem(part, `prototype access is not allowed ("${bad}" in ${p.original})`, p));
      return;
    }
    const shape = resolveShape(p);
    if (shape === "unknown-data") {
      problems.push(
        problem(
          part,
          `unknown variable "${p.original}" (data variables: @index, @key, @first, @last, @root)`,
          p,
        ),
      );
    } else if (typeof shape === "object" && "missing" in shape) {
      problems.push(
        problem(
          part,
          `unknown variable "${p.original}": ${shape.at ? `${shape.at} has` : "the context here has"} no "${shape.missing}" (see templates/README.md)`,
          p,
        ),
      );
    }
  };

  /** The shape a path leads to; a `{missing}` when a segment does not exist. */
  const resolveShape = (
    p: hbs.AST.PathExpression,
  ): ContextShape | undefined | "unknown-data" | { missing: string; at: string } => {
    let segments = p.parts;
    let shape: ContextShape | undefined;
    if (p.data) {
      const [head, ...rest] = segments;
      if (!head || !dataVariables.has(head)) return "unknown-data";
      if (head !== "root") return rest.length === 0 ? "value" : undefined;
      shape = contextShape;
      segments = rest;
    } else {
      const first = segments[0];
      const param = first !== undefined && p.depth === 0 ? findBlockParam(first) : undefined;
      if (param) {
        shape = param.shape;
        segments = segments.slice(1);
      } else {
        shape = scopes[scopes.length - 1 - p.depth];
      }
    }
    const walked: string[] = [];
    for (const segment of segments) {
      if (shape === undefined || shape === "map") return shape === "map" ? "value" : undefined;
      const at = walked.join(".");
      if (shape === "value") return { missing: segment, at };
      if ("list" in shape) {
        if (segment === "length") shape = "value";
        else if (/^\d+$/.test(segment)) shape = shape.list;
        else return { missing: segment, at };
      } else {
        if (!Object.hasOwn(shape.fields, segment)) return { missing: segment, at };
        shape = shape.fields[segment];
      }
      walked.push(segment);
    }
    return shape;
  };

  const findBlockParam = (name: string): { shape: ContextShape | undefined } | undefined => {
    for (let i = blockParams.length - 1; i >= 0; i--) {
      if (blockParams[i]!.has(name)) return { shape: blockParams[i]!.get(name) };
    }
    return undefined;
  };

  /** The shape inside `{{#each x}}` (an item of x) or `{{#with x}}` (x itself). */
  const blockShape = (helper: string, param: hbs.AST.Expression | undefined): ContextShape | undefined => {
    if (param?.type !== "PathExpression") return undefined;
    const shape = resolveShape(param as hbs.AST.PathExpression);
    if (shape === undefined || typeof shape === "string" || "missing" in shape) {
      return helper === "each" && shape === "map" ? "value" : undefined;
    }
    if (helper === "each") return "list" in shape ? shape.list : "value";
    return shape;
  };

  visitProgram(ast);
  return problems;
}

const knownHelpersHint = `; the helpers are ${[...builtinHelpers, ...customHelpers].join(", ")}`;

/** Handlebars environments, one per format: the same helpers, a format-aware `json`. */
const environments = new Map<PartFormat, typeof Handlebars>();

function environment(format: PartFormat): typeof Handlebars {
  let env = environments.get(format);
  if (env) return env;
  env = Handlebars.create();
  const SafeString = env.SafeString;
  for (const name of Object.keys(env.helpers)) {
    if (!(builtinHelpers as readonly string[]).includes(name)) env.unregisterHelper(name);
  }
  const builtinEach = env.helpers.each as (this: unknown, ...args: unknown[]) => unknown;
  // `each` counts its iterations against the render's budget: the only loop a template has.
  env.registerHelper("each", function (this: unknown, ...args: unknown[]) {
    const options = args[args.length - 1] as { data?: { budget?: RenderBudget } };
    const items = args.length > 1 ? args[0] : undefined;
    const budget = options.data?.budget;
    if (budget && items && typeof items === "object") {
      budget.iterations += Array.isArray(items) ? items.length : Object.keys(items).length;
      if (budget.iterations > MAX_EACH_ITERATIONS) {
        throw new TemplateRenderError(
          `the template loops more than ${MAX_EACH_ITERATIONS} times in one render`,
        );
      }
    }
    return builtinEach.apply(this, args);
  });
  env.registerHelper("__jsonString", (value: unknown) =>
    value instanceof SafeString ? value.toString() : jsonStringContent(displayString(value)),
  );
  const helpers = createHelpers(format, (text) => new SafeString(text));
  for (const [name, fn] of Object.entries(helpers)) env.registerHelper(name, fn);
  environments.set(format, env);
  return env;
}

interface RenderBudget {
  iterations: number;
}

const knownHelpers = Object.fromEntries(
  [...builtinHelpers, ...customHelpers, "__jsonString"].map((name) => [name, true]),
) as unknown as KnownHelpers;
type KnownHelpers = NonNullable<CompileOptions["knownHelpers"]>;
type CompileOptions = Parameters<typeof Handlebars.compile>[1] & {};

/**
 * Compiles a checked syntax tree for its format. In JSON parts every `{{value}}` becomes JSON string
 * content (the tree is rewritten to pass it through `__jsonString`): Handlebars' own escaping is
 * HTML-only and one per process, so it cannot differ per format.
 */
export function compilePart(ast: Ast, format: PartFormat): CompiledPart {
  const env = environment(format);
  const tree = format === "json" ? rewriteForJson(ast) : ast;
  const template = env.compile(tree, {
    knownHelpers,
    knownHelpersOnly: true,
    noEscape: format === "text",
    preventIndent: true,
  });
  return (context) => {
    const budget: RenderBudget = { iterations: 0 };
    let output: string;
    try {
      output = template(context, {
        data: { budget },
        allowProtoPropertiesByDefault: false,
        allowProtoMethodsByDefault: false,
      });
    } catch (err) {
      if (err instanceof TemplateRenderError) throw err;
      throw new TemplateRenderError(err instanceof Error ? err.message.split("\n")[0]! : String(err));
    }
    if (output.length > MAX_RENDERED_PART_CHARS) {
      throw new TemplateRenderError(
        `renders ${output.length} characters; a part is at most ${MAX_RENDERED_PART_CHARS}`,
      );
    }
    return output;
  };
}

/** A copy of the tree where every escaped mustache goes through `__jsonString` unescaped. */
function rewriteForJson(ast: Ast): Ast {
  const rewriteProgram = (program: Ast | undefined): Ast | undefined =>
    program && { ...program, body: program.body.map(rewriteStatement) };
  const rewriteStatement = (node: hbs.AST.Statement): hbs.AST.Statement => {
    if (node.type === "BlockStatement") {
      const b = node as hbs.AST.BlockStatement;
      const block: hbs.AST.BlockStatement = {
        ...b,
        program: rewriteProgram(b.program)!,
        inverse: rewriteProgram(b.inverse)!,
      };
      return block;
    }
    if (node.type !== "MustacheStatement") return node;
    const m = node as hbs.AST.MustacheStatement;
    if (!m.escaped) return m; // {{{raw}}}: the author's choice, checked by rendering the sample
    const p = m.path as hbs.AST.PathExpression;
    const isHelper =
      p.type === "PathExpression" && p.parts.length === 1 && !p.data && allowedHelpers.has(p.original);
    const value: hbs.AST.Expression =
      m.params.length === 0 && !m.hash && !isHelper
        ? m.path
        : ({
            type: "SubExpression",
            path: m.path,
            params: m.params,
            hash: m.hash,
            loc: m.loc,
          } as hbs.AST.SubExpression);
    const path: hbs.AST.PathExpression = {
      type: "PathExpression",
      data: false,
      depth: 0,
      parts: ["__jsonString"],
      original: "__jsonString",
      loc: m.loc,
    };
    const raw: hbs.AST.MustacheStatement = {
      ...m,
      path,
      params: [value],
      hash: undefined as unknown as hbs.AST.Hash,
      escaped: false,
    };
    return raw;
  };
  return rewriteProgram(ast)!;
}
