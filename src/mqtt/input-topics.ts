import type { AppContext } from '../core/context.js';
import { InputError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import type { IncomingMessage } from './client.js';
import { ID_RE } from './topics.js';

/**
 * The input topics under the base topic, in one place. A `+` subscription silently misses a
 * topic with an extra level (`camera/a/b/c/snapshot`, `voice/../x/audio`), so every camera and
 * voice source subscribes the same catch-all filter (`camera/#`, `voice/#`: one broker
 * subscription, one copy of each message even on MQTT 5) and picks its own shape, and the
 * guard below reports what matches no shape. Cluster mode splits the camera one: cameraFilters.
 */
export const CAMERA_FILTER = 'camera/#';
export const VOICE_FILTER = 'voice/#';
/**
 * How every handler subscribes those catch-alls: they also match SARAi's own outputs (the
 * ~200 KB image entity twice per snapshot, TTS audio), which the broker need not send back
 * (MQTT 5 No Local, where the broker filter allows it; see MqttBridge.subscribe).
 */
export const INPUT_SUBSCRIBE = { noLocal: true } as const;

/** The inputs the spool keeps until done (see InputSpool): camera snapshots and clips. */
export function isSpooledInput(base: string, topic: string): boolean {
  if (!topic.startsWith(`${base}/camera/`)) return false;
  const levels = levelsBelow(base, topic);
  return isCameraInput(levels, 'snapshot') || isCameraInput(levels, 'clip');
}

/**
 * The camera filters one handler subscribes. A lone bridge: the catch-all. Cluster mode: the
 * broker hands a shared filter's messages out round robin, one rotation per filter and group,
 * counting every message that matches (mosquitto 2, subs__shared_process), and `$share` forbids
 * No Local, so on the catch-all each worker output under camera/ (the detected-phase image at
 * intake, the result, event, alert) took a worker's turn: with two workers the image published
 * for snapshot k sent snapshot k+1 back to the same worker (51 of 60 on one in
 * bench/cluster-pool.ts). So there each input verb is its own filter, which no output matches,
 * and the guard takes the level counts no input or output has; a three-level topic with a bad id
 * and an unknown verb (`camera/Bad-Id/foo`) goes unreported in cluster mode.
 */
export function cameraFilters(use: 'snapshot' | 'clip' | 'guard', clustered: boolean): string[] {
  if (!clustered) return [CAMERA_FILTER];
  // `camera/+/+/+/#`: four levels or more (`#` also matches the parent level, so not `+/+/#`)
  return use === 'guard' ? ['camera', 'camera/+', 'camera/+/+/+/#'] : [`camera/+/${use}`];
}

/** Levels of `topic` below the base topic (`sarai/camera/x/snapshot` -> [camera, x, snapshot]). */
export function levelsBelow(base: string, topic: string): string[] {
  return topic.slice(base.length + 1).split('/');
}

/** `camera/<one level>/<verb>`: the id level is the source's to validate (it reports bad ids). */
export function isCameraInput(levels: string[], verb: 'snapshot' | 'clip'): boolean {
  return levels.length === 3 && levels[0] === 'camera' && levels[2] === verb;
}

/** `voice/<one level>/audio` or `voice/<one level>/audio/<part>`. */
export function isVoiceAudio(levels: string[]): boolean {
  return levels[0] === 'voice' && levels[2] === 'audio' && (levels.length === 3 || levels.length === 4);
}

/** `voice/<one level>/say`. */
export function isVoiceSay(levels: string[]): boolean {
  return levels.length === 3 && levels[0] === 'voice' && levels[2] === 'say';
}

const CONTRACT =
  '<base>/camera/<camera>/snapshot|clip, <base>/voice/<satellite>/audio, .../audio/start|chunk|stop or .../say, with ids of a-z, 0-9 and _ in one level';

/** Input verbs, with the id kind and the source name that reports on that input. */
const VERBS: Record<string, { kind: 'camera' | 'voice'; id: string; source: string }> = {
  snapshot: { kind: 'camera', id: 'camera', source: 'camera.mqtt' },
  clip: { kind: 'camera', id: 'camera', source: 'clip' },
  audio: { kind: 'voice', id: 'satellite', source: 'voice' },
  say: { kind: 'voice', id: 'satellite', source: 'voice' },
};
const AUDIO_PARTS = new Set(['start', 'chunk', 'stop']);

/**
 * Why a topic under camera/ or voice/ is not an input of the contract (and which source it
 * concerns), or undefined when a source handles it or it may be one of SARAi's outputs
 * (`camera/<id>/result`, `voice/<id>/tts`...: a valid id, then one level).
 */
export function contractViolation(levels: string[]): { source: string; error: string } | undefined {
  if (isCameraInput(levels, 'snapshot') || isCameraInput(levels, 'clip') || isVoiceAudio(levels) || isVoiceSay(levels)) return undefined;
  const id = levels[1] ?? '';
  if (levels.length === 3 && ID_RE.test(id) && id.length <= 64) return undefined;
  // an input verb after more than one level: the id has a slash in it
  const last = levels.at(-1) ?? '';
  const verbAt = AUDIO_PARTS.has(last) && levels.at(-2) === 'audio' ? levels.length - 2 : levels.length - 1;
  const verb = VERBS[levels[verbAt] ?? ''];
  if (verb && verb.kind === levels[0] && verbAt > 1) {
    const shown = JSON.stringify(levels.slice(1, verbAt).join('/').slice(0, 80));
    return { source: verb.source, error: `invalid ${verb.id} id ${shown}: use 1-64 characters of a-z, 0-9 and _ in one topic level` };
  }
  return { source: 'input-topics', error: `topic does not match the input contract (${CONTRACT})` };
}

/** Reports every camera/voice topic under the base topic that no source takes: nothing is dropped in silence. */
export class InputTopicGuard implements Service {
  readonly name = 'input-topics';
  private off: (() => void)[] = [];

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    const { mqtt } = this.ctx;
    const check = (m: IncomingMessage): void => {
      if (m.retain) return; // old news, and possibly one of our own retained outputs
      const bad = contractViolation(levelsBelow(mqtt.baseTopic, m.topic));
      if (bad) this.ctx.errors.report(bad.source, m.topic, new InputError(bad.error));
    };
    // the same broker subscriptions as the sources (MqttBridge subscribes once per filter):
    // camera inputs shared across the workers of a cluster (see cameraFilters), voice never (streams)
    for (const f of cameraFilters('guard', !!this.ctx.config.cluster.group)) this.off.push(mqtt.subscribe(mqtt.topic(f), this.name, check, 1, true, INPUT_SUBSCRIBE));
    this.off.push(mqtt.subscribe(mqtt.topic(VOICE_FILTER), this.name, check, 1, false, INPUT_SUBSCRIBE));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    for (const f of this.off.splice(0)) f();
    await Promise.resolve();
  }
}
