import { describe, expect, it } from 'vitest';
import { brokerFilter } from '../../src/mqtt/client.js';
import { configFromObject } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { jobIdOf, producerTs } from '../../src/cluster/job-id.js';
import { ResultLedger, type SkewNotice } from '../../src/cluster/result-ledger.js';
import { LeaseFormatError, parseLease } from '../../src/cluster/worker-presence.js';
import { workerIdOf } from '../../src/cluster/worker-id.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 29, 1, 0, 0) + ms).toISOString();

describe('the result ledger: latest wins, redeliveries are dropped, skewed clocks drop nothing', () => {
  it('drops a result whose input is older than the newest one published for that camera', () => {
    const l = new ResultLedger(120_000, () => {});
    expect(l.admit({ camera: 'door', job_id: 'a', input_ts: at(2_000), worker: 'w1' })).toBe('publish');
    expect(l.admit({ camera: 'door', job_id: 'b', input_ts: at(1_000), worker: 'w2' })).toBe('stale');
    expect(l.admit({ camera: 'yard', job_id: 'c', input_ts: at(1_000), worker: 'w2' })).toBe('publish'); // per camera
    expect(l.admit({ camera: 'door', job_id: 'd', input_ts: at(3_000), worker: 'w2' })).toBe('publish');
  });

  it('drops a second result of the same job (a QoS 1 redelivery), also when another worker published it', () => {
    const l = new ResultLedger(120_000, () => {});
    l.observe({ camera: 'door', job_id: 'door_abc', input_ts: at(0), worker: 'w1' });
    expect(l.published('door_abc')).toBe(true);
    expect(l.admit({ camera: 'door', job_id: 'door_abc', input_ts: at(0), worker: 'w2' })).toBe('duplicate');
  });

  it('a worker 10 min ahead does not make the others\' results stale (warned as skew instead)', () => {
    const notices: SkewNotice[] = [];
    const l = new ResultLedger(120_000, (n) => notices.push(n));
    l.observe({ camera: 'door', job_id: 'x', input_ts: at(600_000), worker: 'fast' });
    const verdicts = [1, 2, 3].map((i) => l.admit({ camera: 'door', job_id: `j${i}`, input_ts: at(i * 1000), worker: 'w1' }));
    expect(verdicts).toEqual(['publish', 'publish', 'publish']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ worker: 'fast', camera: 'door' });
    expect(notices[0]?.aheadMs).toBeGreaterThan(590_000);
    // and order resumes among the workers with good clocks
    expect(l.admit({ camera: 'door', job_id: 'old', input_ts: at(500), worker: 'w2' })).toBe('stale');
  });

  it('a worker 10 min behind still publishes (its results are not all dropped)', () => {
    const l = new ResultLedger(120_000, () => {});
    l.observe({ camera: 'door', job_id: 'x', input_ts: at(600_000), worker: 'w1' });
    expect(l.admit({ camera: 'door', job_id: 'slow1', input_ts: at(1_000), worker: 'slow' })).toBe('publish');
    expect(l.admit({ camera: 'door', job_id: 'slow2', input_ts: at(2_000), worker: 'slow' })).toBe('publish');
  });
});

describe('job ids and producer timestamps', () => {
  it('the same input gives the same id on every worker; other bytes, camera or time give another', () => {
    const a = Buffer.from('jpeg-bytes-1');
    expect(jobIdOf('door', a, 1_700_000_000_000)).toBe(jobIdOf('door', Buffer.from('jpeg-bytes-1'), 1_700_000_000_000));
    expect(jobIdOf('door', a)).not.toBe(jobIdOf('door', Buffer.from('jpeg-bytes-2')));
    expect(jobIdOf('door', a)).not.toBe(jobIdOf('yard', a));
    expect(jobIdOf('door', a, 1)).not.toBe(jobIdOf('door', a, 2));
    expect(jobIdOf('door', a)).toMatch(/^door_[0-9a-f]{16}$/);
  });

  it('takes a plausible ts user property (ms or ISO) and ignores anything else', () => {
    expect(producerTs({ ts: '1764378000000' })).toBe(1_764_378_000_000);
    expect(producerTs({ ts: '2026-11-29T01:00:00Z' })).toBe(Date.UTC(2026, 10, 29, 1));
    expect(producerTs({ ts: ['1764378000000', '1'] })).toBe(1_764_378_000_000);
    for (const ts of ['garbage', '12', '99999999999999999999', '', '1e12']) expect(producerTs({ ts })).toBeUndefined();
    expect(producerTs(undefined)).toBeUndefined();
  });
});

describe('worker ids, shared filters and leases', () => {
  const base = { models: {}, mqtt: { url: 'mqtt://127.0.0.1:1883' } };
  it('derives a topic-safe worker id from hostname and pid unless one is configured', () => {
    const c = configFromObject({ ...base, cluster: { group: 'house' } }, 'test');
    expect(workerIdOf(c, 'NAS-01.local', 4242)).toBe('nas_01_local_4242');
    expect(workerIdOf(c, '---', 7)).toBe('worker_7');
    expect(workerIdOf(configFromObject({ ...base, cluster: { group: 'house', worker_id: 'w1' } }, 'test'))).toBe('w1');
  });

  it('refuses a worker id or group that could escape a topic level', () => {
    expect(() => configFromObject({ ...base, cluster: { group: 'house', worker_id: 'a/b' } }, 'test')).toThrow(ConfigError);
    expect(() => configFromObject({ ...base, cluster: { group: '#' } }, 'test')).toThrow(ConfigError);
  });

  it('refuses cluster mode on the embedded (MQTT 3.1.1) broker with a clear message', () => {
    expect(() => configFromObject({ models: {}, cluster: { group: 'house' } }, 'test')).toThrow(/cluster\.group: needs an external MQTT 5 broker.*3\.1\.1/);
  });

  it('maps a shared input to $share/<group>/ at QoS 1 only in cluster mode', () => {
    expect(brokerFilter('sarai/camera/+/snapshot', 0, true, 'house')).toEqual({ filter: '$share/house/sarai/camera/+/snapshot', qos: 1 });
    expect(brokerFilter('sarai/camera/+/snapshot', 0, true, undefined)).toEqual({ filter: 'sarai/camera/+/snapshot', qos: 0 });
    expect(brokerFilter('sarai/voice/+/audio/+', 1, false, 'house')).toEqual({ filter: 'sarai/voice/+/audio/+', qos: 1 });
  });

  it('parses a lease and names what is wrong with garbage', () => {
    const ok = { worker: 'w1', instance: 'abc', host: 'h', pid: 1, ts: '2026-11-29T01:00:00Z' };
    expect(parseLease(Buffer.from(JSON.stringify(ok)))).toEqual(ok);
    expect(() => parseLease(Buffer.from('\u0000\u00ffgarbage'))).toThrow(LeaseFormatError);
    expect(() => parseLease(Buffer.from('null'))).toThrow(/lacks/);
    expect(() => parseLease(Buffer.from(JSON.stringify({ ...ok, ts: 'yesterday' })))).toThrow(/lacks/);
    expect(() => parseLease(Buffer.from(JSON.stringify({ ...ok, pid: '1' })))).toThrow(LeaseFormatError);
  });
});
