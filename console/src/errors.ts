import { Code, ConnectError } from "@connectrpc/connect";

export interface ErrorSentence {
  sentence: string;
  /** The request field the server named (`field: message`), in the proto's snake_case or camelCase. */
  field?: string;
}

const codeSentences: Partial<Record<Code, string>> = {
  [Code.Unauthenticated]: "Your token was not accepted. Sign in again.",
  [Code.PermissionDenied]: "Your token may not do this.",
  [Code.NotFound]: "It does not exist (any more).",
  [Code.Unavailable]: "The server is unavailable right now; try again in a moment.",
  [Code.ResourceExhausted]: "Too many requests; wait a moment and try again.",
  [Code.Internal]: "The server failed unexpectedly; try again, and check its log if it persists.",
  [Code.DeadlineExceeded]: "The server took too long to answer; try again.",
};

/** Turns any error into a sentence for people; never a stack trace. */
export function describe(err: unknown): ErrorSentence {
  const e = ConnectError.from(err);
  const raw = withoutIds(e.rawMessage.trim(), e.code === Code.FailedPrecondition);
  const named = raw.match(/^([a-zA-Z_][\w.[\]]*): (.+)$/s);
  if (
    named &&
    (e.code === Code.InvalidArgument || e.code === Code.FailedPrecondition || e.code === Code.AlreadyExists)
  ) {
    const field = named[1] as string;
    const detail = named[2] as string;
    // "name: is required" reads as "Name is required."; other details keep the colon.
    const verb = /^(is|are|must|cannot|can't|should|has|have|needs?|may|exceeds?|contains?|does)\b/.test(
      detail,
    );
    // A refused delete names its `id`: the detail says what is wrong on its own.
    const sentence =
      field === "id" && e.code === Code.FailedPrecondition
        ? sentenceCase(detail)
        : verb
          ? `${humanField(field)} ${detail}`
          : `${humanField(field)}: ${detail}`;
    return { sentence: /[.!?]$/.test(sentence) ? sentence : `${sentence}.`, field };
  }
  if (e.code === Code.Unknown && /fetch|network/i.test(raw)) {
    return { sentence: "The server cannot be reached. Check that it is running." };
  }
  if (raw && e.code !== Code.Internal && e.code !== Code.Unknown) return { sentence: sentenceCase(raw) };
  return { sentence: codeSentences[e.code] ?? "Something went wrong; try again." };
}

const uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/**
 * Ids mean little to people: `routing rule "db" (3f2…)` reads as `routing rule “db”`, and a
 * refusal about the thing at hand (`channel 3f2… is a target of …`: a delete the server refused
 * because rules or steps name it) as "this channel". An id with no name beside it stays.
 */
export function withoutIds(raw: string, refusal: boolean): string {
  const named = raw.replace(new RegExp(`"([^"]+)" \\(${uuid}\\)`, "gi"), "“$1”");
  return refusal ? named.replace(new RegExp(`^([a-z][a-z ]*?) ${uuid}\\b`, "i"), "this $1") : named;
}

export function humanField(field: string): string {
  const words = field
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_.]/g, " ")
    .toLowerCase()
    .replace(/\b(cel|url)\b/g, (w) => w.toUpperCase());
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function sentenceCase(s: string): string {
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** Whether the server's field name refers to a form field (`startTime` ≈ `start_time` ≈ `rotation.start_time`). */
export function sameField(serverField: string | undefined, formField: string): boolean {
  if (!serverField) return false;
  const norm = (s: string) => s.replace(/_/g, "").toLowerCase();
  // A path (`condition.matchers[0].value`) names one place: the server's field must end with it
  // (`rule.condition.matchers[0].value`), index included, so row 2's error stays on row 2.
  if (/[.[]/.test(formField)) {
    // A list's element (`addresses[2]`) belongs to the list's field, unless the form names the element.
    const server = /\[\d+\]$/.test(formField) ? norm(serverField) : norm(serverField).replace(/\[\d+\]$/, "");
    const form = norm(formField);
    return server === form || server.endsWith(`.${form}`);
  }
  const last = serverField.split(".").pop() ?? serverField;
  return norm(last.replace(/\[\d+\]/g, "")) === norm(formField) || norm(serverField) === norm(formField);
}
