export { MultimodalBackend, type MultimodalBackendOptions, type MultimodalResult } from './backend.js';
export { ModelHostStoppedError } from './model-host.js';
