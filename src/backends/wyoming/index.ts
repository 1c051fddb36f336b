export { WyomingBackend, WYOMING_ASR_RATE_HZ, type WyomingBackendOptions } from './backend.js';
