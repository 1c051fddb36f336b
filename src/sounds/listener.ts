import { Counter } from 'prom-client';
import type { Audio } from '../backends/types.js';
import { cameraSettings } from '../camera/settings.js';
import { perContext, type AppContext } from '../core/context.js';
import { BackendError, InputError } from '../core/errors.js';
import { SoundAlerts, type SoundFinding } from './alerts.js';
import { measureLevel, splitWindows } from './levels.js';
import { matchSounds } from './match.js';

/** The model role that classifies sounds. */
export const SOUND_ROLE = 'audio_events';

/** What one listen did (tests and the bench read it; the log gets it at debug). */
export interface ListenReport {
  windows: number;
  /** Windows under audio_events.silence_dbfs: never sent to the model. */
  silent: number;
  /** Windows with at least audio_events.clipping_fraction of samples at full scale. */
  clipped: number;
  findings: SoundFinding[];
  /** Findings announced (not held back by the cooldown). */
  announced: number;
}

/**
 * Listens to a camera's audio for the sounds it is configured for (cameras.<id>.sounds): level
 * checks per window (silence is skipped, so it can never alarm; clipping is flagged and still
 * classified, as a smoke alarm next to the microphone clips), the audio_events role on each
 * window, the best score per sound over all windows, then SoundAlerts.
 */
export class SoundListener {
  readonly alerts: SoundAlerts;
  /** Windows by camera and outcome: silent (skipped), classified, dropped (live audio, model behind). */
  readonly windows: Counter<'camera' | 'outcome'>;
  /** Sounds heard by camera, sound id and outcome: announced, or held back by the cooldown. */
  readonly heard: Counter<'camera' | 'sound' | 'outcome'>;

  constructor(private readonly ctx: AppContext) {
    this.alerts = new SoundAlerts(ctx);
    const registers = [ctx.metrics.registry];
    this.windows = new Counter({ name: 'sarai_sound_windows_total', help: 'Audio windows of cameras that listen for sounds, by outcome', labelNames: ['camera', 'outcome'], registers });
    this.heard = new Counter({ name: 'sarai_sound_events_total', help: 'Sounds heard over their threshold, announced or held back by the cooldown', labelNames: ['camera', 'sound', 'outcome'], registers });
  }

  /** Sound ids the camera listens for; [] when none or the role is absent. */
  soundsOf(camera: string): string[] {
    return this.ctx.config.cameras[camera]?.sounds ?? [];
  }

  /** Classifies `audio` from `camera` (an id already checked); throws on model failure. */
  async listen(camera: string, audio: Audio, from: 'clip' | 'rtsp', signal?: AbortSignal): Promise<ListenReport> {
    const acceptedAt = performance.now();
    const wanted = this.soundsOf(camera);
    const report: ListenReport = { windows: 0, silent: 0, clipped: 0, findings: [], announced: 0 };
    if (wanted.length === 0) return report;
    const cfg = this.ctx.config.audio_events;
    if (!(audio.samples instanceof Float32Array) || !Number.isFinite(audio.sampleRate) || audio.sampleRate <= 0) {
      throw new InputError(`sounds: camera ${camera}: the audio is not PCM samples at a known rate`);
    }
    const best = new Map<string, SoundFinding>();
    for (const window of splitWindows(audio.samples, audio.sampleRate, cfg.window_s)) {
      signal?.throwIfAborted();
      report.windows++;
      const level = measureLevel(window);
      if (!(level.rmsDbfs >= cfg.silence_dbfs)) {
        report.silent++;
        this.windows.inc({ camera, outcome: 'silent' });
        continue;
      }
      const clipped = level.clippedFraction >= cfg.clipping_fraction;
      if (clipped) report.clipped++;
      let model = SOUND_ROLE;
      const scores = await this.ctx.backends.invoke(SOUND_ROLE, signal, (b, s) => {
        model = b.model;
        if (!b.classifyAudio) throw new BackendError(`${SOUND_ROLE}: ${b.model} (${b.kind}) cannot classify sounds; use a transformers audio-classification model`);
        return b.classifyAudio({ sampleRate: audio.sampleRate, samples: window }, s);
      }, 'classify_audio');
      this.windows.inc({ camera, outcome: 'classified' });
      for (const m of matchSounds(scores, cfg.sounds, wanted)) {
        const prev = best.get(m.sound);
        if (prev && prev.heard.score >= m.score) continue;
        const severity = cfg.sounds[m.sound]?.severity ?? 'medium';
        best.set(m.sound, {
          sound: m.sound, severity,
          heard: { model, model_label: m.modelLabel, score: round3(m.score), clipped, level_dbfs: Math.round(level.rmsDbfs * 10) / 10 },
        });
      }
    }
    report.findings = [...best.values()].sort((a, b) => b.heard.score - a.heard.score);
    const cam = cameraSettings(this.ctx.config, camera);
    for (const f of report.findings) {
      const announced = await this.alerts.raise(cam, from, f, acceptedAt);
      if (announced) report.announced++;
      this.heard.inc({ camera, sound: f.sound, outcome: announced ? 'announced' : 'cooldown' });
    }
    this.ctx.log.debug({ module: 'sounds', camera, from, ...report, findings: report.findings.map((f) => f.sound) }, 'listened');
    return report;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The bridge's sound listener, created on first use. */
export const soundListenerFor = perContext((ctx) => new SoundListener(ctx));
