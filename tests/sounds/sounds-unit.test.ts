import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { checkSemantics } from '../../src/config/semantics.js';
import { measureLevel, splitWindows } from '../../src/sounds/levels.js';
import { matchSounds } from '../../src/sounds/match.js';
import { pcm16ToFloat } from '../../src/media/audio/pcm.js';
import { rtspAudioArgs } from '../../src/sounds/rtsp-audio.js';

const defaults = configFromObject({}, 'test').audio_events;

describe('sound levels', () => {
  it('digital silence is -Infinity dBFS; a 0.5 sine is -9 dBFS; a clipped square is all full scale', () => {
    expect(measureLevel(new Float32Array(1000)).rmsDbfs).toBe(-Infinity);
    const sine = Float32Array.from({ length: 16_000 }, (_, i) => 0.5 * Math.sin(i / 3));
    expect(measureLevel(sine).rmsDbfs).toBeCloseTo(-9.03, 1);
    expect(measureLevel(sine).clippedFraction).toBe(0);
    const square = Float32Array.from({ length: 1000 }, (_, i) => (i % 20 < 10 ? 1 : -1));
    expect(measureLevel(square)).toEqual({ rmsDbfs: 0, clippedFraction: 1 });
  });

  it('cuts windows; a short tail joins the last window; short audio is one window; empty is none', () => {
    const lens = (n: number) => splitWindows(new Float32Array(n), 16_000, 2).map((w) => w.length);
    expect(lens(64_000)).toEqual([32_000, 32_000]);
    expect(lens(70_000)).toEqual([32_000, 38_000]); // 0.375 s tail joins
    expect(lens(90_000)).toEqual([32_000, 32_000, 26_000]); // 1.6 s tail stands alone
    expect(lens(100)).toEqual([100]);
    expect(lens(0)).toEqual([]);
  });
});

describe('sound matching', () => {
  const scores = [
    { label: 'Glass', score: 0.2 },
    { label: 'Shatter', score: 0.6 },
    { label: 'Bark', score: 0.31 },
    { label: 'Screaming', score: 0.29 },
    { label: 'Glass door', score: 0.99 },
  ];

  it('best matched label per sound at or over its threshold, only for the sounds wanted, exact names', () => {
    expect(matchSounds(scores, defaults.sounds, ['glass', 'bark', 'scream'])).toEqual([
      { sound: 'glass', modelLabel: 'Shatter', score: 0.6 },
      { sound: 'bark', modelLabel: 'Bark', score: 0.31 },
    ]);
    expect(matchSounds(scores, defaults.sounds, ['scream'])).toEqual([]);
    expect(matchSounds(scores, defaults.sounds, ['unknown_sound'])).toEqual([]);
    // case-insensitive, but never a substring: "Glass door" is not "Glass"
    expect(matchSounds([{ label: 'GLASS', score: 0.5 }, { label: 'glass door', score: 1 }], { g: { match: ['glass'], threshold: 0.3, severity: 'low' } }, ['g'])).toEqual([{ sound: 'g', modelLabel: 'GLASS', score: 0.5 }]);
  });
});

describe('sound config', () => {
  it('defaults: five sounds with AudioSet labels; cameras listen to none', () => {
    expect(Object.keys(defaults.sounds)).toEqual(['glass', 'crying', 'bark', 'smoke_alarm', 'scream']);
    expect(defaults.sounds['smoke_alarm']?.match).toContain('Smoke detector, smoke alarm');
    expect(configFromObject({ cameras: { a: {} } }, 'test').cameras['a']).toMatchObject({ sounds: [], sound_rtsp: false });
  });

  it('check-config: unknown sounds, sounds without a role, sound_rtsp without a URL', () => {
    let problems: string[] = [];
    try {
      configFromObject({ cameras: { a: { sounds: ['glass', 'gunshot'], sound_rtsp: true } } }, 'test');
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toEqual([
      'cameras.a.sounds: unknown sound gunshot; define it under audio_events.sounds (glass, crying, bark, smoke_alarm, scream)',
      'cameras.a.sounds: needs an enabled models.audio_events role (an audio-classification model)',
      'cameras.a.sound_rtsp: needs cameras.a.rtsp_url',
    ]);
    const ok = configFromObject({ models: { audio_events: { backend: 'transformers', model: '/m' } }, cameras: { a: { sounds: ['glass'] } } }, 'test');
    expect(checkSemantics(ok)).toEqual([]);
  });

  it('refuses bad values in the schema (threshold, window, sound ids)', () => {
    expect(() => configFromObject({ audio_events: { sounds: { glass: { match: ['Glass'], threshold: 1.5 } } } }, 'test')).toThrow(/threshold/);
    expect(() => configFromObject({ audio_events: { window_s: 0.1 } }, 'test')).toThrow(/window_s/);
    expect(() => configFromObject({ audio_events: { sounds: { 'Bad/id': { match: ['x'] } } } }, 'test')).toThrow();
    expect(() => configFromObject({ audio_events: { sounds: { x: { match: [] } } } }, 'test')).toThrow(/match/);
  });
});

describe('RTSP audio', () => {
  it('reads only the first audio track, decoded to mono s16le 16 kHz on stdout, over TCP with the protocol whitelist', () => {
    const args = rtspAudioArgs({ kind: 'rtsp', url: 'rtsp://127.0.0.1:8554/av', socketTimeoutMs: 3000 });
    expect(args.join(' ')).toBe(
      '-hide_banner -nostats -loglevel error -protocol_whitelist rtsp,rtsps,tcp,tls -rtsp_transport tcp -timeout 3000000 -i rtsp://127.0.0.1:8554/av -map 0:a:0 -vn -c:a pcm_s16le -ac 1 -ar 16000 -f s16le pipe:1',
    );
    expect(() => rtspAudioArgs({ kind: 'rtsp', url: 'file:///etc/passwd', socketTimeoutMs: 3000 })).toThrow(/not allowed/);
  });

  it('PCM s16le -> floats', () => {
    const pcm = Buffer.alloc(8);
    [0, 32767, -32768, 16384].forEach((v, i) => pcm.writeInt16LE(v, i * 2));
    expect([...pcm16ToFloat(pcm)]).toEqual([0, 32767 / 32768, -1, 0.5]);
  });
});
