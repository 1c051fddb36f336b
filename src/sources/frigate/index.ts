export { FrigateSource, frigateFeature } from './frigate-source.js';
export { parseFrigateEvent, parseFrigateReview, type FrigateEvent, type FrigateObject, type FrigateReview } from './payloads.js';
export { TrackedObjects } from './tracked-objects.js';
