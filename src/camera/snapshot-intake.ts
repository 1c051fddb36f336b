import { clusterOf } from '../cluster/feature.js';
import { jobIdOf } from '../cluster/job-id.js';
import type { AppContext } from '../core/context.js';
import { CapacityError, InputError } from '../core/errors.js';
import { prepareImage } from '../media/image.js';
import { sniffImage } from '../media/image-magic.js';
import { checkId } from '../mqtt/topics.js';
import { publishCameraResult } from '../publishers/camera/publish.js';
import { schedulerFor } from '../scheduler/index.js';
import type { JobOutcome } from '../scheduler/job.js';
import { alertPhasesFor } from './alert-phases.js';
import { cameraMemoryFor } from './memory.js';
import { describeSnapshot, type SnapshotMeta } from './describe.js';
import { routerOf } from './router-access.js';
import { cameraSettings, imageSizeFor } from './settings.js';
import { cameraStagesFor } from './stage-metrics.js';

export interface SnapshotInput {
  /** Untrusted: validated here before it builds anything. */
  camera: unknown;
  bytes: Buffer;
  meta: SnapshotMeta;
  /** Where it came from, for sarai/error (`sarai/camera/x/snapshot`, `frigate/events`, `ha:camera.x`). */
  origin: string;
  /** When it arrived (ms since epoch) and the producer's own time if it sent one (MQTT 5 `ts`). */
  received?: { ms: number; producerMs?: number };
}

export type IntakeResult = 'queued' | 'coalesced' | 'rejected' | 'dropped';

/**
 * The one way a still image becomes a camera description, for every source (MQTT, Frigate,
 * HA motion): cheap checks now (id, size, magic), then a scheduler job (latest wins per
 * camera, cooldown) that decodes, skips repeats, describes and publishes. Every refusal is
 * a sarai/error and a scheduler counter; nothing is silently lost.
 */
export function submitSnapshot(ctx: AppContext, input: SnapshotInput): IntakeResult {
  const { scheduler, scenes } = schedulerFor(ctx);
  const reportSource = `camera.${input.meta.source}`;
  const maxBytes = Math.round(ctx.config.camera_defaults.max_image_mb * 1_048_576);
  let camera: string;
  let format: ReturnType<typeof sniffImage>;
  try {
    camera = checkId('camera', input.camera);
    if (input.bytes.length > maxBytes) {
      throw new InputError(`image of ${(input.bytes.length / 1_048_576).toFixed(1)} MB exceeds camera_defaults.max_image_mb (${ctx.config.camera_defaults.max_image_mb} MB)`);
    }
    format = sniffImage(input.bytes);
    if (!format) {
      throw new InputError(`payload on a snapshot input is not an image (${input.bytes.length} bytes): send JPEG, PNG or WebP bytes`);
    }
  } catch (err) {
    scheduler.counters.inc('rejected', 'snapshot');
    ctx.errors.report(reportSource, input.origin, err);
    return 'rejected';
  }
  const acceptedAt = performance.now();
  const cam = cameraSettings(ctx.config, camera);
  const source = `camera:${camera}`;
  const maxSide = imageSizeFor(ctx.config);
  // cluster mode: the id a redelivery of this same input will have on any worker
  const cluster = clusterOf(ctx);
  const received = input.received ?? { ms: Date.now() };
  const jobId = cluster ? jobIdOf(camera, input.bytes, received.producerMs) : undefined;
  // Alert first, words after: the event is announced before any decoding or model work.
  const phases = alertPhasesFor(ctx);
  const event = phases.open(cam, input.meta, acceptedAt);
  // The image entity is JPEG: other formats wait for the prepared copy with the result.
  const rawJpeg = format === 'jpeg' ? input.bytes : undefined;
  try {
    const submitted = scheduler.submit({
      kind: 'snapshot',
      source,
      bytes: input.bytes.length,
      coalesce: true,
      cooldownMs: cam.cooldownMs,
      onDiscard: (reason) => {
        // a coalesced job's newer replacement carries the same event
        if (reason === 'dropped') void phases.fallback(event, 'stopped');
      },
      run: async (signal): Promise<JobOutcome> => {
        const startedAt = performance.now();
        phases.started(event, rawJpeg);
        let prepared;
        try {
          prepared = await prepareImage(input.bytes, { maxSide, maxBytes });
        } catch (err) {
          ctx.errors.report(reportSource, input.origin, err);
          await phases.fallback(event, 'unreadable');
          return 'rejected';
        }
        // a scene seen just now, or (cluster mode) a redelivery some worker already published
        if (scenes.isRepeat(source, prepared.hash) || (jobId && cluster?.ledger.published(jobId))) {
          await phases.fallback(event, 'repeat');
          return 'deduplicated';
        }
        const preparedAt = performance.now();
        try {
          const memory = cameraMemoryFor(ctx);
          const previous = cam.memory ? memory.previous(camera) : undefined;
          const result = await describeSnapshot(routerOf(ctx), cam, prepared.jpeg, input.meta, signal, previous);
          memory.remember(result);
          const describedAt = performance.now();
          if (jobId) {
            result.job_id = jobId;
            result.input_ts = new Date(received.producerMs ?? received.ms).toISOString();
          }
          scenes.remember(source, prepared.hash);
          result.event_id = event.id;
          await publishCameraResult(ctx, result, prepared.jpeg);
          await phases.described(event, result);
          // The router's latency is the model's; building the result and publishing it is ours.
          const modelMs = Math.min(result.latency_ms, describedAt - preparedAt);
          cameraStagesFor(ctx).observe({ waitMs: startedAt - acceptedAt, prepareMs: preparedAt - startedAt, modelMs, publishMs: performance.now() - preparedAt - modelMs });
          return 'completed';
        } catch (err) {
          ctx.errors.report(reportSource, input.origin, err);
          await phases.fallback(event, 'failed', err);
          throw err;
        }
      },
    });
    phases.accepted(event, rawJpeg);
    return submitted;
  } catch (err) {
    phases.abandon(event);
    if (err instanceof CapacityError) {
      ctx.errors.report(reportSource, input.origin, err);
      return 'dropped';
    }
    throw err;
  }
}
