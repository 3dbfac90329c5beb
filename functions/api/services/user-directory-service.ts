import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import {
  type ContactMethodRecord,
  createDirectoryUseCases,
  type UserCursor,
  type UserPatch,
  type UserRecord,
} from "../../app/directory.ts";
import { isRecord } from "../../domain/alerts/validate.ts";
import type {
  DirectoryUser,
  ContactMethod as DomainContactMethod,
  ContactMethodType as TypeName,
} from "../../domain/directory/model.ts";
import {
  MAX_CONTACT_NAME_LENGTH,
  MAX_USER_NAME_LENGTH,
  normalizeContactValue,
  optionalSlackUserId,
  optionalTeamsUserId,
  requireEmail,
  requireNewUserId,
  requireTimeZone,
} from "../../domain/directory/validate.ts";
import { CODE_DIGITS } from "../../domain/directory/verification.ts";
import { PreconditionError, ValidationError } from "../../domain/errors.ts";
import {
  type ContactMethod,
  ContactMethodSchema,
  ContactMethodType,
  type User,
  type UserDirectoryService,
  UserSchema,
} from "../../gen/kneutral/directory/v1/user_directory_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  optionalText,
  requireText,
  requireUserId,
  requireUuid,
} from "../request-validation.ts";
import { readUpdateMask } from "../update-mask.ts";

/** GetUsers takes at most this many ids per call. */
export const MAX_GET_USERS = 100;
const DEFAULT_SEARCH_PAGE_SIZE = 20;
const MAX_SEARCH_PAGE_SIZE = 100;
const MAX_QUERY_LENGTH = 200;

const userFields = ["name", "email", "time_zone", "slack_user_id", "teams_user_id"] as const;
const contactMethodFields = ["name", "enabled"] as const;

const typeByName: Record<TypeName, ContactMethodType> = {
  email: ContactMethodType.EMAIL,
  sms: ContactMethodType.SMS,
  voice: ContactMethodType.VOICE,
  slack_dm: ContactMethodType.SLACK_DM,
  teams: ContactMethodType.TEAMS,
  webhook: ContactMethodType.WEBHOOK,
};
const nameByType = Object.fromEntries(Object.entries(typeByName).map(([n, t]) => [t, n])) as Record<
  number,
  TypeName
>;

/**
 * kneutral.directory.v1.UserDirectoryService, served by oncall. Embedded (no ONCALL_DIRECTORY_URL):
 * our own users and contact methods, managed here. Remote: the reads go through the cached client of
 * the remote directory and the writes are refused (manage people where they live).
 */
export function createUserDirectoryService(ctx: AppContext): ServiceImpl<typeof UserDirectoryService> {
  const directory = createDirectoryUseCases({
    db: () => ctx.database.db,
    clock: ctx.clock,
    sender: ctx.contactMessages,
  });
  const urls = { allowLoopbackHttp: ctx.runtime === "embedded" };
  const remote = ctx.remoteDirectoryUrl;
  const embeddedOnly = () => {
    if (remote !== undefined) {
      throw new PreconditionError(
        "the user directory is remote (ONCALL_DIRECTORY_URL): manage users and contact methods in kneutral-api",
      );
    }
  };

  return {
    async getUsers(req) {
      if (req.ids.length === 0) throw new ValidationError("ids", "is required (1 to 100 user ids)");
      if (req.ids.length > MAX_GET_USERS) {
        throw new ValidationError("ids", `has ${req.ids.length} ids; at most ${MAX_GET_USERS} per call`);
      }
      const ids = req.ids.map((id, i) => requireUserId(id, `ids[${i}]`));
      const users = remote !== undefined ? await ctx.directory.getUsers(ids) : await directory.getUsers(ids);
      return { users: users.map(toUser) };
    },

    async searchUsers(req) {
      const query = optionalText(req.query, "query", MAX_QUERY_LENGTH).trim();
      if (req.pageSize < 0) throw new ValidationError("page_size", "must not be negative");
      const limit = Math.min(req.pageSize || DEFAULT_SEARCH_PAGE_SIZE, MAX_SEARCH_PAGE_SIZE);
      if (remote !== undefined) {
        if (req.pageToken) throw new ValidationError("page_token", "is not supported by a remote directory");
        return { users: (await ctx.directory.searchUsers(query, limit)).map(toUser), nextPageToken: "" };
      }
      const after = decodePageToken(req.pageToken, "directory_users", { query }, isUserCursor);
      const page = await directory.searchUsers({ query, limit, after });
      return {
        users: page.users.map(toUser),
        nextPageToken: page.next ? encodePageToken("directory_users", page.next, { query }) : "",
      };
    },

    async listContactMethods(req) {
      const userId = requireUserId(req.userId, "user_id");
      const methods =
        remote !== undefined
          ? await ctx.directory.contactMethods(userId)
          : await directory.listContactMethods(userId);
      return { contactMethods: methods.map(toContactMethod) };
    },

    async createUser(req) {
      embeddedOnly();
      const user = await directory.createUser({
        id: req.userId === "" ? "" : requireNewUserId(req.userId, "user_id"),
        name: requireText(req.name, "name", MAX_USER_NAME_LENGTH),
        email: requireEmail(req.email, "email"),
        timeZone: requireTimeZone(req.timeZone, "time_zone"),
        slackUserId: optionalSlackUserId(req.slackUserId, "slack_user_id"),
        teamsUserId: optionalTeamsUserId(req.teamsUserId, "teams_user_id"),
      });
      return { user: toUser(user) };
    },

    async updateUser(req) {
      embeddedOnly();
      const input = req.user;
      if (!input) throw new ValidationError("user", "is required");
      const id = requireUserId(input.id, "user.id");
      const mask = readUpdateMask(req.updateMask, userFields);
      const patch: UserPatch = {};
      if (mask.has("name"))
        patch.name = requireText(input.name, "user.name", MAX_USER_NAME_LENGTH, mask.required);
      if (mask.has("email")) patch.email = requireEmail(input.email, "user.email");
      if (mask.has("time_zone")) patch.timeZone = requireTimeZone(input.timeZone, "user.time_zone");
      if (mask.has("slack_user_id"))
        patch.slackUserId = optionalSlackUserId(input.slackUserId, "user.slack_user_id");
      if (mask.has("teams_user_id"))
        patch.teamsUserId = optionalTeamsUserId(input.teamsUserId, "user.teams_user_id");
      return { user: toUser(await directory.updateUser(id, patch)) };
    },

    async deleteUser(req) {
      embeddedOnly();
      await directory.deleteUser(requireUserId(req.id, "id"));
      return {};
    },

    async createContactMethod(req) {
      embeddedOnly();
      const userId = requireUserId(req.userId, "user_id");
      const type = requireType(req.type, "type");
      const value = normalizeContactValue(type, req.value, "value", urls);
      const name = optionalText(req.name, "name", MAX_CONTACT_NAME_LENGTH).trim() || defaultName[type];
      const created = await directory.createContactMethod({ userId, type, name, value });
      return {
        contactMethod: toContactMethod(created.contactMethod),
        verificationCodeSent: created.verificationCodeSent,
        verificationError: created.verificationError ?? "",
      };
    },

    async updateContactMethod(req) {
      embeddedOnly();
      const input = req.contactMethod;
      if (!input) throw new ValidationError("contact_method", "is required");
      const id = requireUuid(input.id, "contact_method.id");
      const mask = readUpdateMask(req.updateMask, contactMethodFields);
      const patch: { name?: string; enabled?: boolean } = {};
      if (mask.has("name")) {
        patch.name = requireText(input.name, "contact_method.name", MAX_CONTACT_NAME_LENGTH, mask.required);
      }
      if (mask.has("enabled")) patch.enabled = input.enabled;
      return { contactMethod: toContactMethod(await directory.updateContactMethod(id, patch)) };
    },

    async deleteContactMethod(req) {
      embeddedOnly();
      await directory.deleteContactMethod(requireUuid(req.id, "id"));
      return {};
    },

    async sendContactMethodVerification(req) {
      embeddedOnly();
      const expiresAt = await directory.sendVerification(requireUuid(req.id, "id"));
      return { expireTime: timestampFromDate(expiresAt) };
    },

    async verifyContactMethod(req) {
      embeddedOnly();
      const id = requireUuid(req.id, "id");
      const code = req.code.trim();
      if (!new RegExp(`^\\d{${CODE_DIGITS}}$`).test(code)) {
        throw new ValidationError("code", `must be the ${CODE_DIGITS} digits sent to the contact method`);
      }
      return { contactMethod: toContactMethod(await directory.verify(id, code)) };
    },

    async testContactMethod(req) {
      embeddedOnly();
      await directory.test(requireUuid(req.id, "id"));
      return {};
    },
  };
}

const defaultName: Record<TypeName, string> = {
  email: "Email",
  sms: "SMS",
  voice: "Voice",
  slack_dm: "Slack",
  teams: "Teams",
  webhook: "Webhook",
};

function requireType(value: ContactMethodType, field: string): TypeName {
  const name = nameByType[value];
  if (!name) {
    throw new ValidationError(
      field,
      "is required: one of CONTACT_METHOD_TYPE_EMAIL, _SMS, _VOICE, _SLACK_DM, _TEAMS, _WEBHOOK",
    );
  }
  return name;
}

function toUser(user: DirectoryUser | UserRecord): User {
  const record = user as Partial<UserRecord>;
  return create(UserSchema, {
    id: user.id,
    name: user.name,
    email: user.email,
    timeZone: user.timeZone,
    slackUserId: user.slackUserId ?? "",
    teamsUserId: user.teamsUserId ?? "",
    ...(record.createdAt ? { createTime: timestampFromDate(record.createdAt) } : {}),
    ...(record.updatedAt ? { updateTime: timestampFromDate(record.updatedAt) } : {}),
  });
}

function toContactMethod(cm: DomainContactMethod | ContactMethodRecord): ContactMethod {
  const record = cm as Partial<ContactMethodRecord>;
  return create(ContactMethodSchema, {
    id: cm.id,
    userId: cm.userId,
    type: typeByName[cm.type],
    name: cm.name,
    value: cm.value,
    verified: cm.verified,
    enabled: !cm.disabled,
    ...(record.createdAt ? { createTime: timestampFromDate(record.createdAt) } : {}),
    ...(record.updatedAt ? { updateTime: timestampFromDate(record.updatedAt) } : {}),
  });
}

function isUserCursor(value: unknown): value is UserCursor {
  return isRecord(value) && typeof value.name === "string" && typeof value.id === "string";
}
