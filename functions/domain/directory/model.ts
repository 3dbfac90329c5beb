/**
 * The user directory: people live in kneutral-api (a separate Connect service); this system stores
 * their ids only and asks the directory for names, time zones and contact methods. Two adapters
 * implement {@link UserDirectory}: a Connect client to a remote directory (cached) and the embedded
 * directory (our own tables, served at the same Connect paths) used when no URL is configured.
 */

/** How a contact method reaches a person. Voice is recorded now and delivered by a later issue. */
export const CONTACT_METHOD_TYPES = ["email", "sms", "voice", "slack_dm", "teams", "webhook"] as const;
export type ContactMethodType = (typeof CONTACT_METHOD_TYPES)[number];

/** Types that must be verified with a code sent to them before they may be paged (as GoAlert does). */
export const VERIFIED_CONTACT_METHOD_TYPES: readonly ContactMethodType[] = ["email", "sms", "voice"];

export interface DirectoryUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  /** IANA zone, e.g. "Europe/Berlin". */
  readonly timeZone: string;
  readonly slackUserId?: string;
  readonly teamsUserId?: string;
}

export interface ContactMethod {
  readonly id: string;
  readonly userId: string;
  readonly type: ContactMethodType;
  readonly name: string;
  /** Email address, E.164 phone number, Slack/Teams user id, or https URL, by type. */
  readonly value: string;
  /** False until the code sent to it was confirmed (always true for types that need no code). */
  readonly verified: boolean;
  /** Disabled by its owner (or never enabled): not paged. */
  readonly disabled: boolean;
}

/**
 * What the rest of the system asks of the directory. Unknown ids are left out of answers (never an
 * error); a directory that cannot answer throws UnavailableError (domain/errors.ts).
 */
export interface UserDirectory {
  /** Users by id, in no particular order; unknown ids are missing from the answer. */
  getUsers(ids: readonly string[]): Promise<DirectoryUser[]>;
  /** Up to `limit` users whose name or email contains `query` (case-insensitive). */
  searchUsers(query: string, limit: number): Promise<DirectoryUser[]>;
  /** The user's contact methods (all of them, verified or not). */
  contactMethods(userId: string): Promise<ContactMethod[]>;
  /**
   * True when users and contact methods live in the oncall database (the embedded directory): a
   * change to them is then seen by the recipients version, and planning may remember what it read
   * (app/delivery-planning.ts). A remote directory has its own cache and TTL.
   */
  readonly inDatabase?: boolean;
}
