import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { configFromObject } from '../../src/config/load.js';
import { clipOptions, clipPrompt, parseClipPayload } from '../../src/sources/clip.js';

const NEVER = /a URL in a clip payload is never opened/;

describe('clip payloads', () => {
  it('reads {"seconds": N} and an optional id; no seconds means the camera default', () => {
    expect(parseClipPayload(Buffer.from('{"seconds": 4}'))).toEqual({ kind: 'capture', seconds: 4 });
    expect(parseClipPayload(Buffer.from(' {"seconds": 2.5, "id": "door-1"} '))).toEqual({ kind: 'capture', seconds: 2.5, id: 'door-1' });
    expect(parseClipPayload(Buffer.from('{}'))).toEqual({ kind: 'capture' });
  });

  it('recognises MP4 and Matroska bytes by their first bytes', () => {
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(12)]);
    const mkv = Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86]);
    expect(parseClipPayload(mp4)).toEqual({ kind: 'bytes', container: 'mp4' });
    expect(parseClipPayload(mkv)).toEqual({ kind: 'bytes', container: 'matroska' });
  });

  it.each([
    ['rtsp://10.0.0.9/live', NEVER],
    ['  http://example.com/x.mp4', NEVER],
    ['/etc/passwd', NEVER],
    ['{"url": "rtsp://10.0.0.9/live"}', NEVER],
    ['{"seconds": 3, "RTSP_URL": "x"}', NEVER],
    ['{"seconds": 3, "note": "file:///etc/shadow"}', NEVER],
    ['', /empty clip payload/],
    ['{"seconds": "3"}', /"seconds" must be a number of seconds, got "3"/],
    ['{"seconds": null}', /"seconds" must be a number of seconds, got null/],
    ['{"seconds": 3, "fps": 9}', /unknown key\(s\) in clip payload: "fps"/],
    ['{"seconds": 3, "id": "../../x"}', /"id" must be/],
    ['{"seconds": 3', /not valid JSON/],
    ['3', /must be JSON/],
    ['null', /must be JSON/],
  ])('%j is refused: %s', (payload, why) => {
    expect(() => parseClipPayload(Buffer.from(payload))).toThrow(InputError);
    expect(() => parseClipPayload(Buffer.from(payload))).toThrow(why);
  });
});

describe('clip settings and prompt', () => {
  it('maps the clip section to capture options with units converted', () => {
    const cfg = configFromObject({ clip: { frame_mode: 'scene', scene_threshold: 0.4, socket_timeout_s: 3, max_frames: 6 } }, 'test');
    expect(clipOptions(cfg)).toMatchObject({ sampling: { mode: 'scene', threshold: 0.4 }, socketTimeoutMs: 3_000, maxFrames: 6, sampleRate: 16_000, maxSeconds: 60 });
  });

  it('rejects bad clip settings with the config error path', () => {
    expect(() => configFromObject({ clip: { max_frames: 0 } }, 'test')).toThrow(/clip\/max_frames|clip.max_frames/);
    expect(() => configFromObject({ clip: { frame_mode: 'random' } }, 'test')).toThrow(/frame_mode/);
  });

  it('tells the model how frames and sound relate, and asks for the camera JSON', () => {
    const clip = { frames: [0, 500, 1000].map((timeMs) => ({ jpeg: Buffer.alloc(1), timeMs })), width: 320, height: 240, durationMs: 1500, elapsedMs: 1 };
    const withSound = clipPrompt({ prompt: 'Anyone at the door?', name: 'Front door' }, { ...clip, audio: { sampleRate: 16_000, samples: new Float32Array(24_000) } });
    expect(withSound).toContain('Anyone at the door?');
    expect(withSound).toContain('The 3 images are frames of a 1.5 s video clip from the camera "Front door", in time order (at 0.0, 0.5, 1.0 s).');
    expect(withSound).toContain('attached as audio');
    expect(withSound).toMatch(/Answer as JSON with summary/);
    expect(clipPrompt({ prompt: 'p', name: 'n' }, clip)).toContain('The clip has no sound.');
  });
});
