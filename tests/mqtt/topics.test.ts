import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { checkId, checkPublishTopic, topicMatches } from '../../src/mqtt/topics.js';
import { redactUrl } from '../../src/log/logger.js';

describe('topic safety', () => {
  it.each(['front_door', 'cam1', 'a'])('accepts id %s', (id) => expect(checkId('camera', id)).toBe(id));
  it.each(['+', '#', 'a/b', '..', 'front door', 'caméra', '', 'UPPER', 'x'.repeat(65), 'a\u0000b'])('rejects id %j', (id) => {
    expect(() => checkId('camera', id)).toThrow(InputError);
  });
  it('rejects non-string ids', () => expect(() => checkId('camera', 42)).toThrow(/invalid camera id/));
  it('refuses wildcards in published topics', () => {
    expect(() => checkPublishTopic('sarai/camera/+/result')).toThrow(InputError);
    expect(() => checkPublishTopic('sarai/#')).toThrow(InputError);
    expect(() => checkPublishTopic('')).toThrow(InputError);
    expect(() => checkPublishTopic('sarai/camera/x/result')).not.toThrow();
  });
  it('matches MQTT filters', () => {
    expect(topicMatches('sarai/camera/+/snapshot', 'sarai/camera/x/snapshot')).toBe(true);
    expect(topicMatches('sarai/camera/+/snapshot', 'sarai/camera/x/y/snapshot')).toBe(false);
    expect(topicMatches('frigate/#', 'frigate/events')).toBe(true);
    expect(topicMatches('$share/sarai/sarai/ask', 'sarai/ask')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
  });
  it('redacts credentials in URLs', () => {
    expect(redactUrl('rtsp://admin:s3cret@192.0.2.1:554/s')).toBe('rtsp://***@192.0.2.1:554/s');
    expect(redactUrl('http://host/x')).toBe('http://host/x');
  });
});
