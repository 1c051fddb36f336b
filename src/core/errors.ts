/** Bad input from outside (payload, id, file): reported on sarai/error, never a crash. */
export class InputError extends Error {
  override readonly name: string = 'InputError';
}
/** A backend or server that failed or timed out. */
export class BackendError extends Error {
  override readonly name: string = 'BackendError';
}
/** An operation ran past its deadline. */
export class TimeoutError extends Error {
  override readonly name: string = 'TimeoutError';
}
/** A bounded queue or budget said no. */
export class CapacityError extends Error {
  override readonly name: string = 'CapacityError';
}
/** Using a resource after dispose(). */
export class DisposedError extends Error {
  override readonly name: string = 'DisposedError';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Why a fetch() threw: its cause's code (ECONNREFUSED, ENOTFOUND...), else the cause's message; fetch itself only says "fetch failed". */
export function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return errorMessage(err);
}
