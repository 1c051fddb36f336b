import { Type } from '@sinclair/typebox';
import { Section } from './common.js';

/** RTSP clips and video bytes: ffmpeg, frame sampling and the bounds on captures. */
export const ClipSection = Section(
  {
    ffmpeg_path: Type.String({ default: '', description: 'absolute path to ffmpeg; empty: FFMPEG_PATH, then ffmpeg on PATH' }),
    max_seconds: Type.Number({ default: 60, exclusiveMinimum: 0, maximum: 600, description: 'longest clip captured or read from bytes (s)' }),
    frame_mode: Type.Union([Type.Literal('fixed'), Type.Literal('scene')], { default: 'fixed', description: 'fixed rate, or on scene change' }),
    frame_rate: Type.Number({ default: 2, exclusiveMinimum: 0, maximum: 30, description: 'frames per second in fixed mode' }),
    scene_threshold: Type.Number({ default: 0.3, exclusiveMinimum: 0, maximum: 1, description: 'scene mode: change score (0-1) that takes a frame' }),
    max_frames: Type.Integer({ default: 8, minimum: 1, maximum: 64, description: 'frames sent to the model (its context is the limit)' }),
    frame_size: Type.Integer({ default: 512, minimum: 32, maximum: 4096, description: 'longest frame side (px)' }),
    jpeg_quality: Type.Integer({ default: 4, minimum: 2, maximum: 31, description: 'ffmpeg mjpeg qscale: 2 best, 31 smallest' }),
    socket_timeout_s: Type.Number({ default: 5, exclusiveMinimum: 0, maximum: 120, description: 'RTSP connect/read timeout (s)' }),
    timeout_margin_s: Type.Number({ default: 10, exclusiveMinimum: 0, maximum: 600, description: 'budget over the clip length before ffmpeg is killed (s)' }),
    max_concurrent: Type.Integer({ default: 2, minimum: 1, maximum: 16, description: 'captures at once' }),
    max_waiting: Type.Integer({ default: 4, minimum: 0, maximum: 64, description: 'captures waiting for a slot; beyond: refused at once on <base>/error (counted as dropped)' }),
  },
  'clips from cameras (RTSP) and MP4/MKV bytes',
);
