/**
 * Domain errors. Each carries one code from a closed set; the RPC edge maps the code to a
 * Connect code and the webhook edge to an HTTP status (see api/errors.ts), so the
 * domain never imports a transport.
 */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "payload_too_large"
  | "unsupported_media_type"
  | "unavailable";

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
}

/** Bad input. `field` names the offending field with a dotted path, e.g. `alerts[3].labels`. */
export class ValidationError extends DomainError {
  override readonly name = "ValidationError";
  readonly code = "invalid_argument";
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export class NotFoundError extends DomainError {
  override readonly name = "NotFoundError";
  readonly code = "not_found";
  readonly entity: string;
  readonly id: string;
  constructor(entity: string, id: string) {
    super(`${entity} ${id} not found`);
    this.entity = entity;
    this.id = id;
  }
}

/** Creating something that exists already (an id or a unique value taken). */
export class AlreadyExistsError extends DomainError {
  override readonly name = "AlreadyExistsError";
  readonly code = "already_exists";
}

export class PreconditionError extends DomainError {
  override readonly name = "PreconditionError";
  readonly code = "failed_precondition";
}

export class UnauthenticatedError extends DomainError {
  override readonly name = "UnauthenticatedError";
  readonly code = "unauthenticated";
}

export class PermissionDeniedError extends DomainError {
  override readonly name = "PermissionDeniedError";
  readonly code = "permission_denied";
}

/** Over a rate or quota. `retryAfterSeconds` becomes the `Retry-After` header on HTTP. */
export class RateLimitedError extends DomainError {
  override readonly name = "RateLimitedError";
  readonly code = "resource_exhausted";
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class PayloadTooLargeError extends DomainError {
  override readonly name = "PayloadTooLargeError";
  readonly code = "payload_too_large";
}

export class UnsupportedMediaTypeError extends DomainError {
  override readonly name = "UnsupportedMediaTypeError";
  readonly code = "unsupported_media_type";
}

/** A dependency (the database, a provider) is down; the caller should retry. */
export class UnavailableError extends DomainError {
  override readonly name = "UnavailableError";
  readonly code = "unavailable";
}
