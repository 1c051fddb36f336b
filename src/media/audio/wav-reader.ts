import { InputError } from '../../core/errors.js';
import { checkPcmFormat, decodePcm, type PcmFormat } from './pcm.js';

/** A decoded WAV: interleaved float samples in [-1, 1]. */
export interface WavAudio {
  format: PcmFormat;
  /** Interleaved samples (frames x channels). */
  samples: Float32Array;
  /** frames / rate (s). */
  durationS: number;
}

export interface WavReadOptions {
  /** Longest audio accepted (s); longer is an InputError before anything is decoded. */
  maxSeconds?: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** A data size a streaming writer puts in the header when it cannot seek back (espeak-ng --stdout, ffmpeg to a pipe). */
const STREAMING_SIZES = new Set([0, 0xffffffff]);
const STREAMING_SIZE_MIN = 0x7fff0000;

/**
 * Reads a RIFF/WAVE file: PCM 8/16/24/32-bit, IEEE float32, WAVE_FORMAT_EXTENSIBLE (PCM or
 * float sub-format), any rate (4-192 kHz) and channel count (1-16). Headers are checked
 * against each other and against the bytes present, so a header that lies (block align or byte
 * rate that do not match, a data chunk larger than the file) is an InputError that says what
 * is wrong. The only tolerated mismatch is the "unknown size" a streaming writer leaves in the
 * data chunk (0, 0xFFFFFFFF, or >= 0x7FFF0000): then the data runs to the end of the buffer.
 */
export function readWav(buf: Buffer, opts: WavReadOptions = {}): WavAudio {
  if (buf.length < 12) throw new InputError(`not a WAV file: only ${buf.length} bytes`);
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new InputError('not a WAV file: missing RIFF/WAVE header');
  }
  let format: PcmFormat | undefined;
  let data: Buffer | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > buf.length) throw new InputError(`WAV fmt chunk is ${size} bytes; it must be 16-40 bytes and inside the file`);
      format = parseFmt(buf.subarray(body, body + size));
    } else if (id === 'data') {
      if (!format) throw new InputError('WAV data chunk comes before its fmt chunk');
      const available = buf.length - body;
      if (size <= available) {
        data = buf.subarray(body, body + size);
      } else if (STREAMING_SIZES.has(size) || size >= STREAMING_SIZE_MIN) {
        data = buf.subarray(body);
      } else {
        throw new InputError(`WAV is truncated: the data chunk says ${size} bytes but only ${available} follow`);
      }
      if (size === 0 && available > 0) data = buf.subarray(body);
      break;
    }
    if (size > buf.length) throw new InputError(`WAV chunk "${printable(id)}" says ${size} bytes, more than the whole file (${buf.length})`);
    off = body + size + (size % 2); // chunks are word-aligned
  }
  if (!format) throw new InputError('WAV has no fmt chunk');
  if (!data) throw new InputError('WAV has no data chunk');
  const frameBytes = format.width * format.channels;
  const frames = Math.floor(data.length / frameBytes);
  if (frames === 0) throw new InputError('WAV contains no audio');
  const durationS = frames / format.rate;
  if (opts.maxSeconds !== undefined && durationS > opts.maxSeconds) {
    throw new InputError(`WAV is ${durationS.toFixed(1)} s long; the limit is ${opts.maxSeconds} s (voice.max_utterance_s)`);
  }
  return { format, samples: decodePcm(data.subarray(0, frames * frameBytes), format), durationS };
}

function parseFmt(fmt: Buffer): PcmFormat {
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const rate = fmt.readUInt32LE(4);
  const byteRate = fmt.readUInt32LE(8);
  const blockAlign = fmt.readUInt16LE(12);
  const bits = fmt.readUInt16LE(14);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.length < 40) throw new InputError('WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes');
    // the sub-format GUID starts with the plain format tag
    tag = fmt.readUInt16LE(24);
    const validBits = fmt.readUInt16LE(18);
    if (validBits > bits) throw new InputError(`WAV says ${validBits} valid bits in a ${bits}-bit container`);
  }
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
    throw new InputError(`WAV format 0x${tag.toString(16)} is not supported (PCM or IEEE float only)`);
  }
  if (bits % 8 !== 0) throw new InputError(`WAV with ${bits} bits per sample is not supported`);
  const f: PcmFormat = { rate, width: bits / 8, channels, float: tag === WAVE_FORMAT_IEEE_FLOAT };
  checkPcmFormat(f, 'WAV');
  if (blockAlign !== f.width * channels) {
    throw new InputError(`WAV header is inconsistent: block align ${blockAlign} but ${channels} channels x ${bits} bits = ${f.width * channels}`);
  }
  if (byteRate !== rate * blockAlign) {
    throw new InputError(`WAV header is inconsistent: byte rate ${byteRate} but ${rate} Hz x ${blockAlign} bytes = ${rate * blockAlign}`);
  }
  return f;
}

function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, '?');
}
