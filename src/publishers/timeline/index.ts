export { Timeline, timelineFeature, timelineOf } from './timeline.js';
export { TimelineStore, type EventQuery, type StoredEvent } from './store.js';
export { parseEventQuery, eventJson, registerTimelineRoutes, DEFAULT_LIMIT, MAX_LIMIT } from './api.js';
