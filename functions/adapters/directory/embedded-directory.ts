import type { Kysely } from "kysely";
import type { ContactMethod, DirectoryUser, UserDirectory } from "../../domain/directory/model.ts";
import type { Database } from "../db/schema.ts";
import { getUsers, listContactMethods, searchUsers } from "../db/stores/directory.ts";

/**
 * The UserDirectory port over our own tables: the directory when no ONCALL_DIRECTORY_URL is set.
 * No cache: a query by primary key costs less than keeping a cache coherent with the management RPCs
 * (the first step planned by ingest remembers recipients, checked by the recipients version).
 */
export function createEmbeddedUserDirectory(db: () => Kysely<Database>): UserDirectory {
  return {
    inDatabase: true,
    async getUsers(ids) {
      return (await getUsers(db(), [...new Set(ids)])).map(toUser);
    },
    async searchUsers(query, limit) {
      // Bounded like the RPC: a caller's large limit reads at most 100 rows.
      return (await searchUsers(db(), { query, limit: Math.max(1, Math.min(limit, 100)) })).users.map(toUser);
    },
    async contactMethods(userId) {
      return ((await listContactMethods(db(), userId)) ?? []).map(toContactMethod);
    },
  };
}

function toUser(user: DirectoryUser): DirectoryUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    timeZone: user.timeZone,
    ...(user.slackUserId ? { slackUserId: user.slackUserId } : {}),
    ...(user.teamsUserId ? { teamsUserId: user.teamsUserId } : {}),
  };
}

function toContactMethod(cm: ContactMethod): ContactMethod {
  return {
    id: cm.id,
    userId: cm.userId,
    type: cm.type,
    name: cm.name,
    value: cm.value,
    verified: cm.verified,
    disabled: cm.disabled,
  };
}
