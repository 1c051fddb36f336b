/**
 * The `transformers` backend kind: in-process transformers.js (ONNX Runtime) models for
 * captions, speech recognition, speech synthesis and embeddings.
 */
import { addSemanticCheck } from '../../config/semantics.js';
import { taskProblem } from './tasks.js';

export { TransformersBackend, MAX_TTS_CHARS, type TransformersBackendOptions } from './backend.js';
export { TRANSFORMERS_TASKS, resolveTask, capabilitiesFor, type TransformersTask } from './tasks.js';
export { locateModel, checkModelFolder, requiredFiles } from './model-folder.js';
export { resolveOnnxThreads } from './runtime.js';

// `sarai check-config` reports a transformers role whose task cannot be known.
addSemanticCheck((config) =>
  Object.entries(config.models).flatMap(([role, m]) => {
    if (m.backend !== 'transformers' || !m.enabled) return [];
    const problem = taskProblem(role, m.task);
    return problem ? [problem] : [];
  }),
);
