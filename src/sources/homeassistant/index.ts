export { HaClient, HaCommandError, MAX_CAMERA_BYTES, type HaClientOptions, type HaEventHandler } from './ha-client.js';
export { HomeAssistantSource, homeAssistantFeature, homeAssistantFor } from './homeassistant.js';
export { haUrls, type HaUrls } from './urls.js';
