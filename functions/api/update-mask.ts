import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { ValidationError } from "../domain/errors.ts";

/** The fields an Update RPC changes, read from its `update_mask`. */
export interface UpdateMask<T extends string> {
  /** Whether `path` is to be changed. */
  has(path: T): boolean;
  /** True when the mask was empty: every updatable field is replaced (AIP-134's full replace). */
  readonly all: boolean;
  /** The message for a required field left empty, saying why it was read at all. */
  readonly required: string;
}

/**
 * Reads `update_mask`: an empty (or absent) mask means every updatable field, a path that is not
 * updatable is `invalid_argument` naming `update_mask.paths[i]`. The one helper every Update RPC uses.
 */
export function readUpdateMask<T extends string>(
  mask: FieldMask | undefined,
  updatable: readonly T[],
): UpdateMask<T> {
  const paths = mask?.paths ?? [];
  paths.forEach((path, i) => {
    if (!(updatable as readonly string[]).includes(path)) {
      throw new ValidationError(
        `update_mask.paths[${i}]`,
        `cannot update "${path}"; updatable fields are ${updatable.join(", ")}`,
      );
    }
  });
  const all = paths.length === 0;
  const chosen = new Set<string>(all ? updatable : paths);
  return {
    has: (path) => chosen.has(path),
    all,
    required: all
      ? `is required: an empty update_mask replaces every field (${updatable.join(", ")}); list the fields to change in update_mask`
      : "is required",
  };
}
