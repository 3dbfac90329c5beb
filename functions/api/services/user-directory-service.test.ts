import { Code, createClient } from "@connectrpc/connect";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRecordingContactSender, createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { admin, bearer, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { createFixedClock } from "../../domain/clock.ts";
import {
  ContactMethodType,
  UserDirectoryService,
} from "../../gen/kneutral/directory/v1/user_directory_pb.ts";
import { ApiKeyScope, ApiKeyService } from "../../gen/oncall/v1/api_keys_pb.ts";

// UserDirectoryService in memory (the real interceptors, use cases and store) on every database
// path. The ContactMessageSender port records what it was asked to send: the verification code is
// read from the message the person would receive.

type Client = ReturnType<typeof createClient<typeof UserDirectoryService>>;
const missingUuid = "00000000-0000-4000-8000-000000000000";

describeEachDatabase("UserDirectoryService", (suite) => {
  const clock = createFixedClock("2026-11-29T09:00:00Z");
  let sender: ReturnType<typeof createRecordingContactSender>;
  let senderAnswer: Awaited<ReturnType<typeof sender.send>>;
  let directory: Client;
  let awsDirectory: Client;
  let apiKeys: ReturnType<typeof createClient<typeof ApiKeyService>>;

  beforeAll(() => {
    sender = createRecordingContactSender(() => senderAnswer);
    const ctx = createTestAppContext(suite.handle, { clock, contactMessages: sender });
    directory = createClient(UserDirectoryService, createInMemoryTransport(ctx));
    apiKeys = createClient(ApiKeyService, createInMemoryTransport(ctx));
    awsDirectory = createClient(UserDirectoryService, createInMemoryTransport({ ...ctx, runtime: "aws" }));
  });

  beforeEach(async () => {
    await suite.handle.db.deleteFrom("directory_users").execute();
    await suite.handle.db.deleteFrom("api_keys").execute();
    sender.sent.length = 0;
    senderAnswer = { status: "sent" };
  });

  const createAda = () =>
    directory.createUser(
      { userId: "ada", name: "Ada Lovelace", email: "ada@Example.COM", timeZone: "Europe/London" },
      admin,
    );
  /** The code in the last message sent. */
  const lastCode = () => {
    const text = sender.sent.at(-1)?.message.text ?? "";
    const code = text.match(/\b(\d{6})\b/)?.[1];
    expect(code, `a 6-digit code in ${JSON.stringify(text)}`).toBeDefined();
    return code!;
  };
  const otherCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

  it("creates, reads, searches, updates and deletes users", async () => {
    const { user } = await createAda();
    expect(user).toMatchObject({ id: "ada", email: "ada@example.com", timeZone: "Europe/London" });
    const generated = (await directory.createUser({ name: "Bob Builder", email: "bob@example.com" }, admin))
      .user!;
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.timeZone).toBe("UTC");

    const got = await directory.getUsers({ ids: ["ada", "nobody", generated.id] }, admin);
    expect(got.users.map((u) => u.name).sort()).toEqual(["Ada Lovelace", "Bob Builder"]);

    expect((await directory.searchUsers({ query: "LOVE" }, admin)).users.map((u) => u.id)).toEqual(["ada"]);
    expect((await directory.searchUsers({ query: "bob@" }, admin)).users.map((u) => u.id)).toEqual([
      generated.id,
    ]);
    expect((await directory.searchUsers({ query: "100%" }, admin)).users).toEqual([]);
    const first = await directory.searchUsers({ pageSize: 1 }, admin);
    expect(first.users.map((u) => u.name)).toEqual(["Ada Lovelace"]);
    const second = await directory.searchUsers({ pageSize: 1, pageToken: first.nextPageToken }, admin);
    expect(second.users.map((u) => u.name)).toEqual(["Bob Builder"]);
    expect(second.nextPageToken).toBe("");

    clock.advance(1000);
    const updated = await directory.updateUser(
      {
        user: { id: "ada", timeZone: "America/New_York", slackUserId: "U024BE7LH" },
        updateMask: { paths: ["time_zone", "slack_user_id"] },
      },
      admin,
    );
    expect(updated.user).toMatchObject({
      name: "Ada Lovelace",
      timeZone: "America/New_York",
      slackUserId: "U024BE7LH",
    });

    await directory.createContactMethod(
      { userId: "ada", type: ContactMethodType.WEBHOOK, value: "https://hooks.example.com/ada" },
      admin,
    );
    await directory.deleteUser({ id: "ada" }, admin);
    expect((await directory.getUsers({ ids: ["ada"] }, admin)).users).toEqual([]);
    expect((await failure(directory.listContactMethods({ userId: "ada" }, admin))).code).toBe(Code.NotFound);
    expect(await suite.handle.db.selectFrom("directory_contact_methods").selectAll().execute()).toEqual([]);
    expect((await failure(createAda().then(createAda))).code).toBe(Code.AlreadyExists);
  });

  it.each([
    ["user_id", { userId: "has space", name: "x", email: "x@example.com" }],
    ["name", { name: " ", email: "x@example.com" }],
    ["email", { name: "x", email: "not-an-email" }],
    ["time_zone", { name: "x", email: "x@example.com", timeZone: "Mars/Olympus" }],
    ["slack_user_id", { name: "x", email: "x@example.com", slackUserId: "ada" }],
    ["teams_user_id", { name: "x", email: "x@example.com", teamsUserId: "not an id" }],
  ])("refuses a user with a bad %s, naming it", async (field, request) => {
    const error = await failure(directory.createUser(request, admin));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage.startsWith(`${field}:`)).toBe(true);
    expect((await directory.searchUsers({}, admin)).users).toEqual([]);
  });

  it("names the field of a bad update", async () => {
    await createAda();
    const path = await failure(
      directory.updateUser({ user: { id: "ada", name: "A" }, updateMask: { paths: ["id"] } }, admin),
    );
    expect(path.rawMessage).toMatch(/^update_mask\.paths\[0\]: cannot update "id"/);
    const zone = await failure(
      directory.updateUser(
        { user: { id: "ada", timeZone: "Moon/Base" }, updateMask: { paths: ["time_zone"] } },
        admin,
      ),
    );
    expect(zone.rawMessage).toMatch(/^user\.time_zone: must be an IANA time zone/);
    const blank = await failure(directory.updateUser({ user: { id: "ada" } }, admin));
    expect(blank.rawMessage).toMatch(/^user\.name: is required: an empty update_mask replaces every field/);
    const cm = await failure(
      directory.updateContactMethod(
        { contactMethod: { id: "x", name: "n" }, updateMask: { paths: ["value"] } },
        admin,
      ),
    );
    expect(cm.rawMessage).toMatch(/^contact_method\.id: must be a uuid/);
    expect((await directory.getUsers({ ids: ["ada"] }, admin)).users[0]).toMatchObject({
      name: "Ada Lovelace",
      timeZone: "Europe/London",
    });
  });

  it("bounds GetUsers and SearchUsers", async () => {
    const tooMany = Array.from({ length: 101 }, (_, i) => `u${i}`);
    expect((await failure(directory.getUsers({ ids: tooMany }, admin))).rawMessage).toMatch(
      /^ids: .*at most 100/,
    );
    expect((await failure(directory.getUsers({ ids: [] }, admin))).rawMessage).toMatch(/^ids:/);
    expect((await failure(directory.getUsers({ ids: ["ok", "a b"] }, admin))).rawMessage).toMatch(
      /^ids\[1\]:/,
    );
    for (let i = 0; i < 3; i++) {
      await directory.createUser({ userId: `u${i}`, name: `User ${i}`, email: `u${i}@example.com` }, admin);
    }
    // Over the cap is lowered to it, as AIP-158 asks.
    expect((await directory.searchUsers({ pageSize: 10_000 }, admin)).users).toHaveLength(3);
    expect((await failure(directory.searchUsers({ pageSize: -1 }, admin))).rawMessage).toMatch(/^page_size:/);
    expect(
      (await failure(directory.searchUsers({ query: "x", pageToken: "bogus" }, admin))).rawMessage,
    ).toMatch(/^page_token:/);
  });

  it.each([
    [ContactMethodType.SMS, "+49 151 2345 6789", "+4915123456789"],
    [ContactMethodType.VOICE, "0049 151 23456789", "+4915123456789"],
    [ContactMethodType.SMS, "+1 (202) 555-0143", "+12025550143"],
    [ContactMethodType.EMAIL, " Ada@Example.COM ", "Ada@example.com"],
    [ContactMethodType.WEBHOOK, "https://hooks.example.com/a?b=1", "https://hooks.example.com/a?b=1"],
    [ContactMethodType.WEBHOOK, "http://127.0.0.1:9000/page", "http://127.0.0.1:9000/page"],
    [ContactMethodType.SLACK_DM, "U024BE7LH", "U024BE7LH"],
    [ContactMethodType.TEAMS, "5a4f4f3e-8a57-4f3b-9d2c-2f6d7e8a9b0c", "5a4f4f3e-8a57-4f3b-9d2c-2f6d7e8a9b0c"],
  ])("normalises a %s contact method value %j to %j", async (type, value, normalised) => {
    await createAda();
    const { contactMethod } = await directory.createContactMethod({ userId: "ada", type, value }, admin);
    expect(contactMethod?.value).toBe(normalised);
  });

  it.each([
    [ContactMethodType.SMS, "+49 123", "is not a valid phone number"],
    [ContactMethodType.SMS, "0151 23456789", "must start with its country code"],
    [ContactMethodType.VOICE, "+1 555 555 5555", "is not a valid phone number"],
    [ContactMethodType.EMAIL, "ada@", "must be an email address"],
    [ContactMethodType.WEBHOOK, "http://hooks.example.com/x", "must be an https URL"],
    [ContactMethodType.WEBHOOK, "https://user:secret@hooks.example.com/x", "must not carry a user name"],
    [ContactMethodType.WEBHOOK, "ftp://127.0.0.1/x", "must be an https URL"],
    [ContactMethodType.SLACK_DM, "@ada", "must be a Slack member id"],
    [ContactMethodType.UNSPECIFIED, "x", "is required"],
  ])("refuses a %s contact method %j, naming the field", async (type, value, message) => {
    await createAda();
    const error = await failure(directory.createContactMethod({ userId: "ada", type, value }, admin));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(type === ContactMethodType.UNSPECIFIED ? /^type: / : /^value: /);
    expect(error.rawMessage).toContain(message);
    expect((await directory.listContactMethods({ userId: "ada" }, admin)).contactMethods).toEqual([]);
  });

  it("allows http://127.0.0.1 webhooks only embedded, and no internal addresses on AWS", async () => {
    await createAda();
    const error = await failure(
      awsDirectory.createContactMethod(
        { userId: "ada", type: ContactMethodType.WEBHOOK, value: "http://127.0.0.1:9000/page" },
        admin,
      ),
    );
    expect(error.rawMessage).toMatch(/^value: must be an https URL/);
    const internal = await failure(
      awsDirectory.createContactMethod(
        { userId: "ada", type: ContactMethodType.WEBHOOK, value: "https://169.254.169.254/latest" },
        admin,
      ),
    );
    expect(internal.rawMessage).toMatch(
      /^value: must not point at a private, loopback or link-local address/,
    );
  });

  it("answers not_found for unknown users and contact methods", async () => {
    const cm = { userId: "ghost", type: ContactMethodType.WEBHOOK, value: "https://example.com/x" };
    expect((await failure(directory.createContactMethod(cm, admin))).code).toBe(Code.NotFound);
    expect((await failure(directory.listContactMethods({ userId: "ghost" }, admin))).code).toBe(
      Code.NotFound,
    );
    expect(
      (
        await failure(
          directory.updateUser({ user: { id: "ghost", name: "G" }, updateMask: { paths: ["name"] } }, admin),
        )
      ).code,
    ).toBe(Code.NotFound);
    expect((await failure(directory.deleteUser({ id: "ghost" }, admin))).code).toBe(Code.NotFound);
    for (const call of [
      () => directory.deleteContactMethod({ id: missingUuid }, admin),
      () => directory.sendContactMethodVerification({ id: missingUuid }, admin),
      () => directory.verifyContactMethod({ id: missingUuid, code: "123456" }, admin),
      () => directory.testContactMethod({ id: missingUuid }, admin),
    ]) {
      expect((await failure(call())).code).toBe(Code.NotFound);
    }
    expect((await failure(directory.deleteContactMethod({ id: "nope" }, admin))).rawMessage).toMatch(
      /^id: must be a uuid/,
    );
  });

  it("keeps a new email disabled until the code sent to it is confirmed", async () => {
    await createAda();
    const created = await directory.createContactMethod(
      { userId: "ada", type: ContactMethodType.EMAIL, name: "Work", value: "ada@example.com" },
      admin,
    );
    expect(created).toMatchObject({ verificationCodeSent: true, verificationError: "" });
    const id = created.contactMethod!.id;
    expect(created.contactMethod).toMatchObject({ verified: false, enabled: false, name: "Work" });
    expect(sender.sent).toHaveLength(1);
    expect(sender.sent[0]!.contactMethod).toMatchObject({ id, type: "email", value: "ada@example.com" });
    expect(sender.sent[0]!.message.kind).toBe("verification");
    const code = lastCode();

    const enable = await failure(
      directory.updateContactMethod(
        { contactMethod: { id, enabled: true }, updateMask: { paths: ["enabled"] } },
        admin,
      ),
    );
    expect(enable.code).toBe(Code.FailedPrecondition);
    expect((await failure(directory.testContactMethod({ id }, admin))).code).toBe(Code.FailedPrecondition);

    const wrong = await failure(directory.verifyContactMethod({ id, code: otherCode(code) }, admin));
    expect(wrong.code).toBe(Code.InvalidArgument);
    expect(wrong.rawMessage).toBe("code: is not the code sent; 4 attempts left");
    expect((await failure(directory.verifyContactMethod({ id, code: "12a456" }, admin))).rawMessage).toMatch(
      /^code:/,
    );

    const verified = await directory.verifyContactMethod({ id, code }, admin);
    expect(verified.contactMethod).toMatchObject({ id, verified: true, enabled: true });
    // The code is used up; the stored hash is not the code.
    expect(await suite.handle.db.selectFrom("directory_verification_codes").selectAll().execute()).toEqual(
      [],
    );
    const listed = await directory.listContactMethods({ userId: "ada" }, admin);
    expect(listed.contactMethods).toMatchObject([{ id, verified: true, enabled: true }]);
    expect((await failure(directory.sendContactMethodVerification({ id }, admin))).code).toBe(
      Code.FailedPrecondition,
    );

    const disabled = await directory.updateContactMethod(
      { contactMethod: { id, enabled: false, name: "Old work" } },
      admin,
    );
    expect(disabled.contactMethod).toMatchObject({ enabled: false, name: "Old work", verified: true });
  });

  it("stores the code hashed, expires it after 15 minutes and rate-limits resends", async () => {
    await createAda();
    const { contactMethod } = await directory.createContactMethod(
      { userId: "ada", type: ContactMethodType.SMS, value: "+4915123456789" },
      admin,
    );
    const id = contactMethod!.id;
    const first = lastCode();
    const row = await suite.handle.db
      .selectFrom("directory_verification_codes")
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(row.code_hash).not.toContain(first);

    const tooSoon = await failure(directory.sendContactMethodVerification({ id }, admin));
    expect(tooSoon.code).toBe(Code.ResourceExhausted);
    expect(sender.sent).toHaveLength(1);

    clock.advance(61_000);
    const resent = await directory.sendContactMethodVerification({ id }, admin);
    expect(resent.expireTime).toBeDefined();
    const second = lastCode();
    if (second !== first) {
      // The replaced code no longer verifies.
      expect((await failure(directory.verifyContactMethod({ id, code: first }, admin))).code).toBe(
        Code.InvalidArgument,
      );
    }
    clock.advance(15 * 60_000);
    const expired = await failure(directory.verifyContactMethod({ id, code: second }, admin));
    expect(expired.code).toBe(Code.FailedPrecondition);
    expect(expired.rawMessage).toContain("expired");

    await directory.sendContactMethodVerification({ id }, admin);
    expect(
      (await directory.verifyContactMethod({ id, code: lastCode() }, admin)).contactMethod?.verified,
    ).toBe(true);
  });

  it("allows 5 attempts per code, also when they arrive at once", async () => {
    await createAda();
    const { contactMethod } = await directory.createContactMethod(
      { userId: "ada", type: ContactMethodType.VOICE, value: "+12025550143" },
      admin,
    );
    const id = contactMethod!.id;
    const code = lastCode();
    const guesses = await Promise.all(
      Array.from({ length: 8 }, () =>
        failure(directory.verifyContactMethod({ id, code: otherCode(code) }, admin)),
      ),
    );
    expect(guesses.filter((e) => e.code === Code.InvalidArgument)).toHaveLength(5);
    expect(guesses.filter((e) => e.code === Code.FailedPrecondition)).toHaveLength(3);
    // Even the right code is refused now: a new code must be sent.
    const exhausted = await failure(directory.verifyContactMethod({ id, code }, admin));
    expect(exhausted.code).toBe(Code.FailedPrecondition);
    expect(exhausted.rawMessage).toContain("send a new one");
    clock.advance(60_000);
    await directory.sendContactMethodVerification({ id }, admin);
    expect(
      (await directory.verifyContactMethod({ id, code: lastCode() }, admin)).contactMethod?.enabled,
    ).toBe(true);
  });

  it("keeps a contact method whose code could not be sent, and lets the resend go at once", async () => {
    await createAda();
    senderAnswer = { status: "retry", reason: "SMTP 451" };
    const created = await directory.createContactMethod(
      { userId: "ada", type: ContactMethodType.EMAIL, value: "ada@example.com" },
      admin,
    );
    expect(created.verificationCodeSent).toBe(false);
    expect(created.verificationError).toContain("SMTP 451");
    const id = created.contactMethod!.id;

    senderAnswer = { status: "failed", reason: "mailbox does not exist" };
    const failed = await failure(directory.sendContactMethodVerification({ id }, admin));
    expect(failed.code).toBe(Code.FailedPrecondition);
    expect(failed.rawMessage).toContain("mailbox does not exist");

    senderAnswer = { status: "sent" };
    await directory.sendContactMethodVerification({ id }, admin);
    expect(
      (await directory.verifyContactMethod({ id, code: lastCode() }, admin)).contactMethod?.verified,
    ).toBe(true);
  });

  it("sends a test message to a verified contact method at most once a minute", async () => {
    await createAda();
    const { contactMethod } = await directory.createContactMethod(
      {
        userId: "ada",
        type: ContactMethodType.WEBHOOK,
        name: "Pager bridge",
        value: "https://hooks.example.com/ada",
      },
      admin,
    );
    expect(contactMethod).toMatchObject({ verified: true, enabled: true });
    expect(sender.sent).toEqual([]);
    const id = contactMethod!.id;

    await directory.testContactMethod({ id }, admin);
    expect(sender.sent).toHaveLength(1);
    expect(sender.sent[0]!.message).toMatchObject({ kind: "test" });
    expect(sender.sent[0]!.message.text).toContain("Pager bridge");
    expect((await failure(directory.testContactMethod({ id }, admin))).code).toBe(Code.ResourceExhausted);

    clock.advance(60_000);
    senderAnswer = { status: "retry", reason: "HTTP 503" };
    expect((await failure(directory.testContactMethod({ id }, admin))).code).toBe(Code.Unavailable);
    // A message that did not go out does not count against the minute.
    senderAnswer = { status: "sent" };
    await directory.testContactMethod({ id }, admin);
    expect(sender.sent).toHaveLength(3);
  });

  it("caps a user's contact methods at 20", async () => {
    await createAda();
    for (let i = 0; i < 20; i++) {
      await directory.createContactMethod(
        { userId: "ada", type: ContactMethodType.WEBHOOK, value: `https://hooks.example.com/${i}` },
        admin,
      );
    }
    const full = await failure(
      directory.createContactMethod(
        { userId: "ada", type: ContactMethodType.SLACK_DM, value: "U024BE7LH" },
        admin,
      ),
    );
    expect(full.code).toBe(Code.FailedPrecondition);
    expect(full.rawMessage).toContain("delete one first");
    expect((await directory.listContactMethods({ userId: "ada" }, admin)).contactMethods).toHaveLength(20);
  });

  it("refuses a second identical contact method and deletes one", async () => {
    await createAda();
    const request = { userId: "ada", type: ContactMethodType.SLACK_DM, value: "U024BE7LH" };
    const { contactMethod } = await directory.createContactMethod(request, admin);
    expect((await failure(directory.createContactMethod(request, admin))).code).toBe(Code.AlreadyExists);
    await directory.deleteContactMethod({ id: contactMethod!.id }, admin);
    expect((await directory.listContactMethods({ userId: "ada" }, admin)).contactMethods).toEqual([]);
  });

  it("lets API keys read the directory, and only the admin token change it", async () => {
    await createAda();
    const { secret: read } = await apiKeys.createApiKey({ name: "r", scope: ApiKeyScope.READ }, admin);
    const { secret: readWrite } = await apiKeys.createApiKey(
      { name: "rw", scope: ApiKeyScope.READ_WRITE },
      admin,
    );
    for (const key of [read, readWrite]) {
      expect((await directory.getUsers({ ids: ["ada"] }, bearer(key))).users).toHaveLength(1);
      expect((await directory.searchUsers({}, bearer(key))).users).toHaveLength(1);
      expect((await directory.listContactMethods({ userId: "ada" }, bearer(key))).contactMethods).toEqual([]);
      const denied = await failure(
        directory.createUser({ name: "Eve", email: "eve@example.com" }, bearer(key)),
      );
      expect(denied.code).toBe(Code.PermissionDenied);
      expect((await failure(directory.deleteUser({ id: "ada" }, bearer(key)))).code).toBe(
        Code.PermissionDenied,
      );
    }
    expect((await failure(directory.getUsers({ ids: ["ada"] }))).code).toBe(Code.Unauthenticated);
    expect((await directory.searchUsers({}, admin)).users.map((u) => u.id)).toEqual(["ada"]);
  });
});

describe("UserDirectoryService with a remote directory", () => {
  it("refuses changes and says where to make them", async () => {
    const { openTestDatabase } = await import("../../../test/support/databases.ts");
    const database = await openTestDatabase("pglite");
    try {
      const ctx = createTestAppContext(database, { remoteDirectoryUrl: "https://kneutral.example" });
      const client = createClient(UserDirectoryService, createInMemoryTransport(ctx));
      const error = await failure(client.createUser({ name: "Eve", email: "eve@example.com" }, admin));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.rawMessage).toContain("ONCALL_DIRECTORY_URL");
    } finally {
      await database.close();
    }
  });
});
