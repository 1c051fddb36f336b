import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import { CameraPublisher } from '../publishers/camera/camera-publisher.js';
import { schedulerService } from '../scheduler/index.js';
import { CameraSnapshotSource } from '../sources/camera-snapshot.js';

/**
 * The camera path's always-on parts: the shared scheduler (first, so it stops last), the
 * publisher of camera entities, and the MQTT snapshot input.
 */
export function cameraFeature(ctx: AppContext): Service[] {
  return [schedulerService(ctx), new CameraPublisher(ctx), new CameraSnapshotSource(ctx)];
}
