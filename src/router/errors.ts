import { BackendError } from '../core/errors.js';

/** No configured, healthy backend can take this input; the message lists why each was passed over. */
export class NoCapableBackendError extends BackendError {
  override readonly name: string = 'NoCapableBackendError';
}
