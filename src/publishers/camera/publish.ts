import type { AppContext } from '../../core/context.js';
import type { CameraResult } from '../../core/results.js';
import { clusterOf } from '../../cluster/feature.js';

/**
 * Publishes a camera result everywhere it goes (HA entities and result topic, timeline,
 * HA websocket events): the one call for every producer of camera results (snapshots,
 * Frigate, HA motion, RTSP clips). `image`: the JPEG that was described (optional).
 * `result.camera` must be a checked id (checkId). Never rejects.
 */
export async function publishCameraResult(ctx: AppContext, result: CameraResult, image?: Buffer): Promise<void> {
  // cluster mode: a redelivered job or an older input than the group's newest is not published
  const verdict = clusterOf(ctx)?.admit(result);
  if (verdict && verdict !== 'publish') {
    ctx.log.info({ module: 'cluster', camera: result.camera, job_id: result.job_id, verdict }, 'camera result not published');
    return;
  }
  await ctx.bus.emit('camera.result', image ? { result, image } : { result });
}
