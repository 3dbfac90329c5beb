import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import { listOutbox, type OutboxRecord } from "../../app/local-outbox.ts";
import { ValidationError } from "../../domain/errors.ts";
import { type LocalOutboxService, OutboxMessageSchema } from "../../gen/oncall/v1/local_outbox_pb.ts";
import { decodePageToken, encodePageToken, optionalText, pageSize } from "../request-validation.ts";

/** oncall.v1.LocalOutboxService: the email and SMS the embedded runtime kept instead of sending. */
export function createLocalOutboxService(ctx: AppContext): ServiceImpl<typeof LocalOutboxService> {
  return {
    async listOutboxMessages(req) {
      const kind = req.destinationKind;
      if (kind !== "" && kind !== "email" && kind !== "sms") {
        throw new ValidationError("destination_kind", 'must be "email", "sms" or empty');
      }
      const recipient = optionalText(req.recipient, "recipient", 320).trim();
      const filters = { kind, recipient };
      const before = decodePageToken(req.pageToken, "local_outbox", filters, isId);
      const page = await listOutbox(ctx, {
        destinationKind: kind === "" ? undefined : kind,
        recipient: recipient === "" ? undefined : recipient,
        limit: pageSize(req.pageSize),
        before,
      });
      return {
        messages: page.messages.map(toMessage),
        nextPageToken: page.next ? encodePageToken("local_outbox", page.next, filters) : "",
      };
    },
  };
}

function toMessage(m: OutboxRecord) {
  const d = m.destination;
  return create(OutboxMessageSchema, {
    id: BigInt(m.id),
    idempotencyKey: m.idempotencyKey,
    destinationKind: d.kind,
    recipients: d.kind === "email" ? [...d.to] : d.kind === "sms" ? [d.phone] : [],
    messageKind: m.messageKind,
    parts: { ...m.parts },
    createTime: timestampFromDate(m.createdAt),
  });
}

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}
