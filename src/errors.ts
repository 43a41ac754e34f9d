/**
 * The one error base of medchain: a stable machine-readable `code`, a short message a user can act
 * on, optional details, and the underlying cause. Domain modules subclass it.
 */
export class MedchainError extends Error {
  readonly code: string;
  readonly details: readonly string[];

  constructor(code: string, message: string, options: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? [];
  }
}

/** Input from a user, file or network peer that we refuse; the message says what to fix. */
export class InvalidInputError extends MedchainError {
  constructor(message: string, options: { details?: readonly string[]; cause?: unknown } = {}) {
    super('invalid-input', message, options);
  }
}

/** Short text of any thrown value, for one-line CLI and log messages (never a stack trace). */
export function errorMessage(err: unknown): string {
  if (err instanceof MedchainError) return err.message;
  if (err instanceof Error) {
    const short = (err as { shortMessage?: unknown }).shortMessage;
    return typeof short === 'string' ? short : err.message;
  }
  return String(err);
}
