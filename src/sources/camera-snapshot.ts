import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { IncomingMessage } from '../mqtt/client.js';
import { INPUT_SUBSCRIBE, cameraFilters, isCameraInput, levelsBelow } from '../mqtt/input-topics.js';
import { submitSnapshot } from '../camera/snapshot-intake.js';
import { producerTs } from '../cluster/job-id.js';

/**
 * `sarai/camera/<camera>/snapshot`: raw JPEG/PNG/WebP bytes from anything (HA automations,
 * scripts, cameras). Also listens one level deeper so an id containing `/` is reported,
 * not silently unmatched. Retained snapshots are skipped: a replay on reconnect is not a
 * new scene.
 */
export class CameraSnapshotSource implements Service {
  readonly name = 'camera-snapshot';
  private off: (() => void)[] = [];

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    const mqtt = this.ctx.mqtt;
    const prefix = mqtt.topic('camera/');
    const handle = (m: IncomingMessage): void => {
      if (!isCameraInput(levelsBelow(mqtt.baseTopic, m.topic), 'snapshot')) return; // other shapes: InputTopicGuard
      if (m.retain) {
        this.ctx.log.debug({ module: this.name, topic: m.topic }, 'retained snapshot ignored');
        return;
      }
      const camera = m.topic.slice(prefix.length, -'/snapshot'.length);
      const producerMs = producerTs(m.userProperties);
      // a snapshot run again from the spool keeps its first arrival time: it is not newer than what came after it
      const received = { ms: m.receivedMs ?? Date.now(), ...(producerMs === undefined ? {} : { producerMs }) };
      submitSnapshot(this.ctx, { camera, bytes: m.payload, meta: { source: 'mqtt' }, origin: m.topic, received });
    };
    // the catch-all every camera input shares; in cluster mode `camera/+/snapshot`, shared across the workers
    for (const f of cameraFilters('snapshot', !!this.ctx.config.cluster.group)) this.off.push(mqtt.subscribe(mqtt.topic(f), this.name, handle, 1, true, INPUT_SUBSCRIBE));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    for (const f of this.off) f();
    this.off = [];
    await Promise.resolve();
  }
}
