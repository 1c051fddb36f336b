/** Registers the `wyoming` backend kind (a Wyoming ASR/TTS server as a client). Imported for its effect. */
import { registerBackendKind } from '../registry.js';
import { parseTcpUrl } from '../../wyoming/connection.js';
import { WyomingBackend } from './backend.js';

registerBackendKind(
  'wyoming',
  (ctx) => new WyomingBackend({ role: ctx.role, spec: ctx.spec, log: ctx.log }),
  (ctx) => {
    try {
      parseTcpUrl(ctx.spec.url);
      return undefined;
    } catch (err) {
      return `${ctx.role}: ${(err as Error).message} (models.${ctx.role}.url)`;
    }
  },
);
