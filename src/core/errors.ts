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
