import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../../app/context.ts";
import type { RotationRecord } from "../../../app/schedules.ts";
import * as useCases from "../../../app/schedules.ts";
import { PreconditionError, ValidationError } from "../../../domain/errors.ts";
import {
  addParticipant,
  type Rotation,
  removeParticipant,
  reorderParticipants,
  setCurrentParticipant,
} from "../../../domain/schedules/index.ts";
import { resolveZone } from "../../../domain/schedules/zone.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../../domain/services/limits.ts";
import type { Rotation as RotationMessage, ScheduleService } from "../../../gen/oncall/v1/schedules_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isNameCursor,
  optionalText,
  pageSize,
  requireDate,
  requireText,
  requireUserId,
  requireUuid,
} from "../../request-validation.ts";
import { readUpdateMask } from "../../update-mask.ts";
import { rotationFields, shiftLengthOf, toRotationMessage, toShiftLengthMessage } from "./mapping.ts";

type RotationRpcs = Pick<
  ServiceImpl<typeof ScheduleService>,
  | "createRotation"
  | "getRotation"
  | "listRotations"
  | "updateRotation"
  | "deleteRotation"
  | "addRotationParticipant"
  | "removeRotationParticipant"
  | "reorderRotationParticipants"
  | "setCurrentRotationParticipant"
>;

const updatable = ["name", "description", "time_zone", "shift_length", "start_time"] as const;

/** ScheduleService's rotation RPCs: settings, and participant edits that keep everyone's turn. */
export function createRotationRpcs(ctx: AppContext): RotationRpcs {
  /** A participant edit at now; the domain names its inputs with the request's field names. */
  async function edit(
    rotationId: string,
    change: (current: RotationRecord, at: Date) => Rotation,
  ): Promise<{ rotation: RotationMessage }> {
    const id = requireUuid(rotationId, "rotation_id");
    const { rotation, at } = await useCases.editRotationParticipants(ctx, id, change);
    return { rotation: toRotationMessage(rotation, at) };
  }

  return {
    async createRotation(req) {
      const fields = rotationFields(
        {
          name: req.name,
          description: req.description,
          timeZone: req.timeZone,
          shiftLength: req.shiftLength,
          startTime: req.startTime,
          participants: req.participants,
        },
        "",
      );
      const record = await useCases.createRotation(ctx, fields);
      return { rotation: toRotationMessage(record, ctx.clock.now()) };
    },

    async getRotation(req) {
      const record = await useCases.getRotation(ctx, requireUuid(req.id, "id"));
      return { rotation: toRotationMessage(record, ctx.clock.now()) };
    },

    async listRotations(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "rotations", { search }, isNameCursor);
      const page = await useCases.listRotations(ctx, { search, limit, after });
      const at = ctx.clock.now();
      return {
        rotations: page.rotations.map((r) => toRotationMessage(r, at)),
        nextPageToken: page.next ? encodePageToken("rotations", page.next, { search }) : "",
      };
    },

    async updateRotation(req) {
      const input = req.rotation;
      if (!input) throw new ValidationError("rotation", "is required");
      const id = requireUuid(input.id, "rotation.id");
      const mask = readUpdateMask(req.updateMask, updatable);
      // The request's own fields first, so that a bad value is invalid_argument even for an unknown id.
      if (mask.has("name")) requireText(input.name, "rotation.name", MAX_NAME_LENGTH, mask.required);
      if (mask.has("description"))
        optionalText(input.description, "rotation.description", MAX_DESCRIPTION_LENGTH);
      if (mask.has("time_zone")) resolveZone(input.timeZone, "rotation.time_zone");
      if (mask.has("shift_length")) shiftLengthOf(input.shiftLength, "rotation.shift_length");
      if (mask.has("start_time")) requireDate(input.startTime, "rotation.start_time");
      const { rotation, at } = await useCases.updateRotation(ctx, id, (current) =>
        rotationFields(
          {
            name: mask.has("name") ? input.name : current.name,
            description: mask.has("description") ? input.description : current.description,
            timeZone: mask.has("time_zone") ? input.timeZone : current.timeZone,
            shiftLength: mask.has("shift_length")
              ? input.shiftLength
              : toShiftLengthMessage(current.shiftLength),
            startTime: mask.has("start_time") ? input.startTime : timestampFromDate(current.start),
            participants: current.participants,
          },
          "rotation.",
        ),
      );
      return { rotation: toRotationMessage(rotation, at) };
    },

    async deleteRotation(req) {
      await useCases.deleteRotation(ctx, requireUuid(req.id, "id"));
      return {};
    },

    addRotationParticipant(req) {
      const userId = requireUserId(req.userId, "user_id");
      return edit(req.rotationId, (r, at) =>
        addParticipant(r, userId, at, req.position, { userId: "user_id", position: "position" }),
      );
    },

    removeRotationParticipant(req) {
      const expected = req.userId === "" ? undefined : requireUserId(req.userId, "user_id");
      return edit(req.rotationId, (r, at) => {
        const there = r.participants[req.participantIndex];
        if (expected !== undefined && there !== undefined && there !== expected) {
          throw new PreconditionError(
            `participant ${req.participantIndex} is ${JSON.stringify(there)}, not ${JSON.stringify(expected)}; reload the rotation`,
          );
        }
        return removeParticipant(r, req.participantIndex, at, "participant_index");
      });
    },

    reorderRotationParticipants(req) {
      return edit(req.rotationId, (r, at) => reorderParticipants(r, req.order, at, "order"));
    },

    setCurrentRotationParticipant(req) {
      return edit(req.rotationId, (r, at) =>
        setCurrentParticipant(r, req.participantIndex, at, "participant_index"),
      );
    },
  };
}
