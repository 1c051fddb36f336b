export { CameraPublisher } from './camera-publisher.js';
export { publishCameraResult } from './publish.js';
export { cameraTopics, EVENT_TYPES } from './entities.js';
export { resultJson, MAX_ATTRIBUTES_BYTES } from './attributes.js';
