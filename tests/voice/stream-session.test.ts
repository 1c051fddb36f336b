import { describe, expect, it } from 'vitest';
import { MAX_STREAM_BYTES, StreamSession } from '../../src/sources/voice/stream-session.js';

describe('stream sessions hold bounded audio', () => {
  it('stops holding audio past max_utterance_s and gives its bytes back to the shared budget', () => {
    const budget = { used: 0, max: 10_000 };
    const s = new StreamSession({ rate: 8000, width: 1, channels: 1 }, 0.5, budget);
    expect(s.add(Buffer.alloc(3000))).toBe(true);
    expect(budget.used).toBe(3000);
    expect(s.add(Buffer.alloc(1001))).toBe(false); // 4001 bytes > 0.5 s at 8000 B/s
    expect(s.tooLong).toBe(true);
    expect(s.byteLength).toBe(0);
    expect(budget.used).toBe(0);
    expect(s.add(Buffer.alloc(10))).toBe(false); // the rest of the stream is ignored
  });

  it('refuses chunks once all streams together reach the budget, and caps one stream whatever its format', () => {
    const budget = { used: 0, max: 5000 };
    const a = new StreamSession({ rate: 16000, width: 2, channels: 1 }, 10, budget);
    const b = new StreamSession({ rate: 16000, width: 2, channels: 1 }, 10, budget);
    expect(a.add(Buffer.alloc(4000))).toBe(true);
    expect(b.add(Buffer.alloc(2000))).toBe(false);
    expect(a.pcm().length).toBe(4000);
    expect(budget.used).toBe(0);
    const wide = new StreamSession({ rate: 192000, width: 4, channels: 16 }, 600);
    expect(wide.add(Buffer.alloc(MAX_STREAM_BYTES))).toBe(true);
    expect(wide.add(Buffer.alloc(64))).toBe(false);
  });

  it('parses start payloads: rate 0, 1,000,000, width 5, and non-JSON are refused', () => {
    expect(StreamSession.parseStart(Buffer.from('{"rate":16000}'))).toEqual({ rate: 16000, width: 2, channels: 1 });
    expect(() => StreamSession.parseStart(Buffer.from('{"rate":0,"width":2,"channels":1}'))).toThrow(/0 Hz/);
    expect(() => StreamSession.parseStart(Buffer.from('{"rate":1000000,"width":2,"channels":1}'))).toThrow(/1000000 Hz/);
    expect(() => StreamSession.parseStart(Buffer.from('{"rate":16000,"width":5,"channels":1}'))).toThrow(/width 5/);
    expect(() => StreamSession.parseStart(Buffer.from('[16000]'))).toThrow(/JSON object/);
    expect(() => StreamSession.parseStart(Buffer.from([0xff, 0xfe]))).toThrow(/must be JSON/);
  });
});
