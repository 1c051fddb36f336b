/**
 * The bad-input corpus: every way outside input reaches SARAi, each case with its exact
 * expected outcome. MQTT cases: the `sarai/error` report ({source, topic, error}). HTTP cases:
 * the status. Wyoming cases: the `error` event the client gets. Config and model cases: the
 * named error and its message. tests/corpus/bad-input.test.ts runs them on one live bridge and
 * checks after each that a normal snapshot is still described.
 */
import { wavFromPcm16 } from '../../src/media/audio/index.js';
import { encodeEvent } from '../../src/wyoming/framing.js';

export type Case =
  | { kind: 'mqtt'; name: string; topic: string; payload: Buffer | string; then?: { topic: string; payload: string }; source: string; errorTopic?: string; error: RegExp; issue17?: string }
  | { kind: 'http'; name: string; method: string; path: string; body?: Buffer | string; headers?: Record<string, string>; status: number }
  | { kind: 'wyoming'; name: string; bytes: Buffer | string; reply: RegExp }
  | { kind: 'config'; name: string; yaml: string; error: RegExp }
  | { kind: 'model'; name: string; bytes: Buffer; error: RegExp };

const pcm = (samples: number): Buffer => {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(6000 * Math.sin(i / 9)), i * 2);
  return b;
};
const wav = wavFromPcm16(pcm(1600), 16_000, 1);
const withU16 = (b: Buffer, at: number, v: number): Buffer => {
  const c = Buffer.from(b);
  c.writeUInt16LE(v, at);
  return c;
};
const withU32 = (b: Buffer, at: number, v: number): Buffer => {
  const c = Buffer.from(b);
  c.writeUInt32LE(v >>> 0, at);
  return c;
};
const gguf = (version: number, rest: Buffer = Buffer.alloc(64)): Buffer => {
  const h = Buffer.alloc(8);
  h.write('GGUF', 0, 'latin1');
  h.writeUInt32LE(version, 4);
  return Buffer.concat([h, rest]);
};
const header = (o: unknown): string => `${JSON.stringify(o)}\n`;

const snap = (camera = 'porch') => `sarai/camera/${camera}/snapshot`;
const clip = (camera = 'porch') => `sarai/camera/${camera}/clip`;
const audio = (sat = 'kitchen') => `sarai/voice/${sat}/audio`;
const NOT_IMAGE = /payload on a snapshot input is not an image \(\d+ bytes\): send JPEG, PNG or WebP bytes/;

export function corpus(jpeg: Buffer, png: Buffer): Case[] {
  const mqttSnap = (name: string, payload: Buffer | string, error: RegExp = NOT_IMAGE, camera = 'porch'): Case => ({ kind: 'mqtt', name: `snapshot: ${name}`, topic: snap(camera), payload, source: 'camera.mqtt', error });
  const mqttAsk = (name: string, payload: string, error: RegExp): Case => ({ kind: 'mqtt', name: `ask: ${name}`, topic: 'sarai/ask', payload, source: 'ask', error });
  const mqttClip = (name: string, payload: Buffer | string, error: RegExp, camera = 'porch'): Case => ({ kind: 'mqtt', name: `clip: ${name}`, topic: clip(camera), payload, source: 'clip', error });
  const mqttVoice = (name: string, topic: string, payload: Buffer | string, error: RegExp, issue17?: string): Case => ({ kind: 'mqtt', name: `voice: ${name}`, topic, payload, source: 'voice', error, ...(issue17 ? { issue17 } : {}) });
  const frigate = (name: string, topic: string, payload: Buffer | string, error: RegExp, source = 'frigate'): Case => ({ kind: 'mqtt', name: `frigate: ${name}`, topic, payload, source, error });
  const http = (name: string, method: string, path: string, status: number, body?: Buffer | string, headers?: Record<string, string>): Case => ({ kind: 'http', name: `http: ${name}`, method, path, status, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  const wy = (name: string, bytes: Buffer | string, reply: RegExp): Case => ({ kind: 'wyoming', name: `wyoming: ${name}`, bytes, reply });
  const config = (name: string, yaml: string, error: RegExp): Case => ({ kind: 'config', name: `config: ${name}`, yaml, error });
  const model = (name: string, bytes: Buffer, error: RegExp): Case => ({ kind: 'model', name: `model: ${name}`, bytes, error });

  return [
    // --- camera snapshots over MQTT
    mqttSnap('plain text', 'hello, this is not a picture'),
    mqttSnap('binary garbage', Buffer.from([0, 1, 2, 3, 250, 251, 7, 8, 9])),
    mqttSnap('an empty payload', Buffer.alloc(0)),
    mqttSnap('JSON', '{"image":"aGVsbG8="}'),
    mqttSnap('an HTML page', '<!doctype html><html><body>502 Bad Gateway</body></html>'),
    mqttSnap('an SVG image', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
    mqttSnap('a GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1')),
    mqttSnap('a BMP', Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(60)])),
    mqttSnap('a PDF', '%PDF-1.4\n%âãÏÓ\n1 0 obj\n'),
    mqttSnap('an MP4 on the snapshot topic', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom', 'latin1'), Buffer.alloc(16)])),
    mqttSnap('JPEG magic only', Buffer.from([0xff, 0xd8, 0xff]), /cannot decode|JPEG|image/i),
    mqttSnap('a JPEG cut in half', jpeg.subarray(0, Math.floor(jpeg.length / 2)), /cannot decode|JPEG|premature|image/i),
    mqttSnap('a JPEG cut after its header', jpeg.subarray(0, 200), /cannot decode|JPEG|premature|image/i),
    mqttSnap('PNG magic only', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), /cannot decode|PNG|image/i),
    mqttSnap('a PNG cut in half', png.subarray(0, Math.floor(png.length / 2)), /cannot decode|PNG|image|premature/i),
    mqttSnap('a WebP header without image data', Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'), Buffer.alloc(24)]), /cannot decode|WebP|image/i),
    mqttSnap('an image over camera_defaults.max_image_mb', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(2 * 1_048_576)]), /2\.0 MB exceeds camera_defaults\.max_image_mb \(1 MB\)/),
    { kind: 'mqtt', name: 'snapshot: a payload over mqtt.max_payload_mb', topic: snap(), payload: Buffer.alloc(5 * 1_048_576, 0x55), source: 'mqtt', error: /5\.0 MB exceeds mqtt\.max_payload_mb \(4\.0 MB\)/ },
    mqttSnap('camera id with a space', jpeg, /invalid camera id/, 'Front Door'),
    mqttSnap('camera id in capitals', jpeg, /invalid camera id/, 'UPPER'),
    mqttSnap('camera id with an accent', jpeg, /invalid camera id/, 'cámara'),
    mqttSnap('camera id ..', jpeg, /invalid camera id/, '..'),
    mqttSnap('camera id of 65 characters', jpeg, /invalid camera id/, 'a'.repeat(65)),
    mqttSnap('camera id with a dash', jpeg, /invalid camera id/, 'front-door'),

    // --- questions
    mqttAsk('an empty payload', '', /ask: empty payload/),
    mqttAsk('only spaces', '    ', /ask: empty payload/),
    mqttAsk('JSON cut short', '{"text":', /ask: invalid JSON/),
    mqttAsk('JSON without text', '{"question":"hi"}', /needs a "text" string/),
    mqttAsk('JSON text that is a number', '{"text":42}', /needs a "text" string/),
    mqttAsk('JSON with an empty text', '{"text":"   "}', /the question is empty/),
    mqttAsk('an id with a slash and a hash', '{"text":"hi","id":"a/b#"}', /"id" must be/),
    mqttAsk('an id of 65 characters', `{"text":"hi","id":"${'x'.repeat(65)}"}`, /"id" must be/),
    mqttAsk('an id that is a number', '{"text":"hi","id":7}', /"id" must be/),
    mqttAsk('a question of 9000 characters', 'x'.repeat(9000), /longer than 8000/),

    // --- clips (refused before any ffmpeg runs)
    mqttClip('seconds negative', '{"seconds":-1}', /seconds/),
    mqttClip('seconds zero', '{"seconds":0}', /seconds/),
    mqttClip('seconds as text', '{"seconds":"ten"}', /seconds/),
    mqttClip('a URL in the payload', '{"seconds":3,"url":"rtsp://evil.example/stream"}', /url|URL/),
    mqttClip('a bare URL', 'rtsp://evil.example/stream', /neither|URL|url|MP4|Matroska/),
    mqttClip('plain text', 'record the porch please', /neither|MP4|Matroska|JSON/),
    mqttClip('an empty payload', Buffer.alloc(0), /empty|neither|MP4|Matroska/),
    mqttClip('a JPEG on the clip topic', jpeg, /neither|MP4|Matroska/),
    mqttClip('JSON that is an array', '[3]', /neither|JSON|seconds|object/),
    mqttClip('camera id in capitals', '{"seconds":3}', /invalid camera id/, 'PORCH'),

    // --- voice audio
    mqttVoice('text instead of a WAV', audio(), 'not audio at all', /not a WAV file/),
    mqttVoice('a RIFF header only', audio(), Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1'), /WAV has no fmt chunk|not a WAV/),
    mqttVoice('a WAV cut inside its data', audio(), wav.subarray(0, 60), /truncated|no audio/),
    mqttVoice('a WAV whose data chunk claims 100 MB', audio(), withU32(wav, 40, 100 * 1_048_576), /truncated/),
    mqttVoice('a WAV with 0 channels', audio(), withU16(wav, 22, 0), /channel/i),
    mqttVoice('a WAV with 40 channels', audio(), withU16(wav, 22, 40), /channel/i),
    mqttVoice('a WAV at 1 Hz', audio(), withU32(wav, 24, 1), /rate|Hz/i),
    mqttVoice('a WAV of 12-bit samples', audio(), withU16(wav, 34, 12), /bit|width|format/i),
    mqttVoice('a WAV in an unknown format (mu-law)', audio(), withU16(wav, 20, 7), /format/i),
    mqttVoice('a fmt chunk of 4 GB', audio(), withU32(wav, 16, 0xfffffff0), /fmt chunk|more than the whole file/),
    mqttVoice('a WAV longer than voice.max_utterance_s', audio(), wavFromPcm16(pcm(16_000 * 3), 16_000, 1), /limit is 2 s/),
    mqttVoice('a stream chunk without a start', `${audio()}/chunk`, pcm(160), /start|stream/i),
    mqttVoice('a stream stop without a start', `${audio()}/stop`, '', /start|stream/i),
    mqttVoice('a stream start with bad JSON', `${audio()}/start`, '{"rate":', /JSON/),
    mqttVoice('a stream start at rate 0', `${audio()}/start`, '{"rate":0,"width":2,"channels":1}', /rate/i),
    mqttVoice('a stream start of width 5', `${audio()}/start`, '{"rate":16000,"width":5,"channels":1}', /width/i),
    mqttVoice('a stream start with 99 channels', `${audio()}/start`, '{"rate":16000,"width":2,"channels":99}', /channel/i),
    mqttVoice('an unknown stream step', `${audio()}/pause`, '', /pause|unknown|start, chunk/i),
    mqttVoice('satellite id in capitals', audio('Kitchen'), wav, /invalid satellite id/),

    // --- Frigate
    frigate('events: invalid JSON', 'frigate/events', '{"type":"new",', /JSON/),
    frigate('events: a JSON array', 'frigate/events', '[1,2,3]', /object|JSON/),
    frigate('events: an unknown type', 'frigate/events', '{"type":"bogus","after":{}}', /type must be new, update or end/),
    frigate('events: no after', 'frigate/events', '{"type":"new"}', /after/),
    frigate('events: after without a camera', 'frigate/events', '{"type":"new","after":{"id":"1","label":"person"}}', /camera/),
    frigate('events: a camera id with a space', 'frigate/events', '{"type":"new","after":{"id":"1.2-a","camera":"Front Door","label":"person","has_snapshot":true}}', /invalid camera id|camera/),
    frigate('reviews: invalid JSON', 'frigate/reviews', 'not json', /JSON/),
    frigate('reviews: no data', 'frigate/reviews', '{"type":"end","after":{"id":"r","camera":"front","severity":"alert"}}', /data|detections/),
    frigate('reviews: a number', 'frigate/reviews', '42', /object|JSON/),
    {
      kind: 'mqtt',
      name: 'frigate: text on a snapshot topic, then the event that uses it',
      topic: 'frigate/front/person/snapshot',
      payload: 'not an image',
      then: { topic: 'frigate/events', payload: JSON.stringify({ type: 'new', before: {}, after: { id: '1700000000.5-text', camera: 'front', label: 'person', has_snapshot: true } }) },
      source: 'camera.frigate',
      errorTopic: 'frigate/events',
      error: /not an image/,
    },

    // --- HTTP routes and uploads
    http('describe: a body without a content type', 'POST', '/api/describe', 415, jpeg),
    http('describe: text/plain', 'POST', '/api/describe', 415, 'hello', { 'content-type': 'text/plain' }),
    http('describe: text labelled as a JPEG', 'POST', '/api/describe', 415, 'hello', { 'content-type': 'image/jpeg' }),
    http('describe: an empty JPEG', 'POST', '/api/describe', 415, '', { 'content-type': 'image/jpeg' }),
    http('describe: a body over the upload limit', 'POST', '/api/describe', 413, Buffer.alloc(40 * 1_048_576, 1), { 'content-type': 'image/jpeg' }),
    http('transcribe: text labelled as a WAV', 'POST', '/api/transcribe', 415, 'not audio', { 'content-type': 'audio/wav' }),
    http('transcribe: a truncated WAV', 'POST', '/api/transcribe', 415, wav.subarray(0, 50), { 'content-type': 'audio/wav' }),
    http('ask: an empty JSON body', 'POST', '/api/ask', 400, '', { 'content-type': 'application/json' }),
    http('ask: invalid JSON', 'POST', '/api/ask', 400, '{"text":', { 'content-type': 'application/json' }),
    http('an unknown route', 'GET', '/api/nothing-here', 404),
    http('a path escaping the UI folder', 'GET', '/ui/..%2f..%2fpackage.json', 404),
    http('a UI file that does not exist', 'GET', '/ui/secret.txt', 404),
    http('events with limit=abc', 'GET', '/api/events?limit=abc', 400),
    http('events with limit=-5', 'GET', '/api/events?limit=-5', 400),
    http('a method the route does not take', 'DELETE', '/api/system', 405),

    // --- Wyoming frames (the ASR server)
    wy('a header that is not JSON', 'this is not json\n', /"type":"error"/),
    wy('a header that is a JSON array', '[1,2,3]\n', /"type":"error"/),
    wy('a header without a type', header({ data_length: 0 }), /"type":"error"/),
    wy('a negative data_length', header({ type: 'transcribe', data_length: -5 }), /"type":"error"/),
    wy('a data_length over the limit', header({ type: 'transcribe', data_length: 50_000_000 }), /"type":"error"/),
    wy('a payload_length over the limit', header({ type: 'audio-chunk', payload_length: 500_000_000 }), /"type":"error"/),
    wy('data that is not JSON', Buffer.concat([Buffer.from(header({ type: 'transcribe', data_length: 5 })), Buffer.from('{{{{{')]), /"type":"error"/),
    wy('a header line of 100 KB without a newline', 'x'.repeat(100 * 1024), /"type":"error"/),
    wy('an audio chunk before audio-start', encodeEvent('audio-chunk', { rate: 16000, width: 2, channels: 1 }, pcm(160)), /"type":"error"/),
    wy('audio-start at rate 0', encodeEvent('audio-start', { rate: 0, width: 2, channels: 1 }), /"type":"error"/),

    // --- config files
    config('an unknown key', 'mqtt:\n  urll: mqtt://x\n', /mqtt: unknown key "urll"|urll/),
    config('a URL without a scheme', 'mqtt:\n  url: 127.0.0.1:1883\n', /mqtt\.url/),
    config('a negative port', 'http:\n  port: -1\n', /http\.port/),
    config('a base topic with a wildcard', 'mqtt:\n  base_topic: "sarai/#"\n', /mqtt\.base_topic/),
    config('a camera id in capitals', 'cameras:\n  Front: { name: Front }\n', /cameras/),
    config('an unknown backend kind', 'models:\n  tiny: { backend: gpt5 }\n', /models\.tiny\.backend/),
    config('YAML that does not parse', 'mqtt: [\n', /invalid YAML/),
    config('a list at the top level', '- mqtt\n- http\n', /must be a mapping of sections/),
    config('the same Wyoming port twice', 'wyoming:\n  asr_port: 10300\n  tts_port: 10300\n', /wyoming\.tts_port: must differ/),
    config('a Frigate API URL with credentials', 'frigate:\n  api_url: http://user:pw@frigate:5000\n', /frigate\.api_url/),

    // --- model files (GGUF preflight before llama.cpp sees them)
    model('a zip file', Buffer.from('PK\x03\x04 this is a zip, not a model, padded out'.padEnd(64, '.'), 'latin1'), /not a GGUF file/),
    model('four bytes', Buffer.from('GGUF'), /too small/),
    model('GGUF version 99', gguf(99), /version/),
    model('a header that claims 2^40 tensors', Buffer.concat([gguf(3, Buffer.alloc(0)), Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]), Buffer.alloc(56)]), /tensor|truncated|count|too/i),
  ];
}
