export { EspeakBackend, MAX_ESPEAK_CHARS, type EspeakBackendOptions } from './backend.js';
