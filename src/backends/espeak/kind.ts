/** Registers the `espeak` backend kind (models.<role>.backend: espeak). Imported for its effect. */
import { registerBackendKind } from '../registry.js';
import { EspeakBackend } from './backend.js';

registerBackendKind('espeak', (ctx) => new EspeakBackend({ role: ctx.role, spec: ctx.spec, log: ctx.log }));
