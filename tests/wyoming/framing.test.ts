import { describe, expect, it } from 'vitest';
import { WyomingDecoder, WyomingProtocolError, encodeEvent } from '../../src/wyoming/framing.js';

describe('Wyoming framing', () => {
  it('lays out header line, data and payload exactly as the protocol says', () => {
    const bytes = encodeEvent('audio-chunk', { rate: 16000, width: 2, channels: 1 }, Buffer.from([1, 2, 3, 4]));
    const nl = bytes.indexOf(10);
    const header = JSON.parse(bytes.subarray(0, nl).toString()) as Record<string, unknown>;
    const data = '{"rate":16000,"width":2,"channels":1}';
    expect(header).toMatchObject({ type: 'audio-chunk', data_length: data.length, payload_length: 4 });
    expect(bytes.subarray(nl + 1, nl + 1 + data.length).toString()).toBe(data);
    expect([...bytes.subarray(nl + 1 + data.length)]).toEqual([1, 2, 3, 4]);
    expect(bytes.length).toBe(nl + 1 + data.length + 4);
    const bare = encodeEvent('describe');
    expect(JSON.parse(bare.toString())).toEqual({ type: 'describe', version: expect.any(String) });
  });

  it('decodes events split at every byte boundary, with inline data merged under data_length data', () => {
    const stream = Buffer.concat([
      encodeEvent('transcribe', { language: 'en' }),
      Buffer.from('{"type":"synthesize","data":{"text":"hi","voice":{"name":"x"}}}\n'),
      encodeEvent('audio-chunk', { rate: 8000 }, Buffer.alloc(300, 7)),
      encodeEvent('audio-stop'),
    ]);
    const d = new WyomingDecoder();
    const out = [];
    for (const byte of stream) out.push(...d.push(Buffer.from([byte])));
    expect(out.map((e) => e.type)).toEqual(['transcribe', 'synthesize', 'audio-chunk', 'audio-stop']);
    expect(out[0]?.data).toEqual({ language: 'en' });
    expect(out[1]?.data).toEqual({ text: 'hi', voice: { name: 'x' } });
    expect(out[2]?.payload?.length).toBe(300);
    expect(out[3]?.payload).toBeUndefined();
  });

  it('rejects headers that are not JSON, not objects, or lack a type', () => {
    expect(() => new WyomingDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/header is not JSON/);
    expect(() => new WyomingDecoder().push(Buffer.from('[1,2]\n'))).toThrow(/not a JSON object/);
    expect(() => new WyomingDecoder().push(Buffer.from('{"data_length":2}\n'))).toThrow(/no event type/);
    expect(() => new WyomingDecoder().push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]))).toThrow(/not valid UTF-8/);
  });

  it('rejects a 2 GB payload or data announcement before buffering anything', () => {
    expect(() => new WyomingDecoder().push(Buffer.from('{"type":"audio-chunk","payload_length":2147483648}\n'))).toThrow(
      /payload_length of 2147483648 bytes exceeds the limit/,
    );
    expect(() => new WyomingDecoder().push(Buffer.from('{"type":"x","data_length":2147483648}\n'))).toThrow(WyomingProtocolError);
    expect(() => new WyomingDecoder().push(Buffer.from('{"type":"x","payload_length":-1}\n'))).toThrow(/non-negative/);
  });

  it('bounds a header line that never ends', () => {
    const d = new WyomingDecoder({ maxHeaderBytes: 1024, maxDataBytes: 1024, maxPayloadBytes: 1024 });
    expect(() => {
      for (let i = 0; i < 10; i++) d.push(Buffer.alloc(200, 0x61));
    }).toThrow(/header line longer than 1024 bytes/);
  });
});
