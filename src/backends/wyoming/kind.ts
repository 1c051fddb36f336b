/** Registers the `wyoming` backend kind (a Wyoming ASR/TTS server as a client). Imported for its effect. */
import { registerBackendKind } from '../registry.js';
import { WyomingBackend } from './backend.js';

// A bad models.<role>.url throws in the constructor; the registry reports that as the role's problem.
registerBackendKind('wyoming', (ctx) => new WyomingBackend({ role: ctx.role, spec: ctx.spec, log: ctx.log }));
