import { describe, expect, it } from 'vitest';
import { cameraSettings } from '../../src/camera/settings.js';
import { configFromObject } from '../../src/config/load.js';
import { Bus } from '../../src/core/bus.js';
import type { AppContext, BridgeEvents } from '../../src/core/context.js';
import type { CameraAlert } from '../../src/core/results.js';
import { SoundAlerts, type SoundFinding } from '../../src/sounds/alerts.js';
import { createLogger } from '../../src/log/logger.js';

/** A quiet-hours range that contains the current local time (and one that does not). */
function rangeAround(now: Date, inside: boolean): string {
  const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const shift = (min: number) => new Date(now.getTime() + min * 60_000);
  return inside ? `${hhmm(shift(-60))}-${hhmm(shift(60))}` : `${hhmm(shift(120))}-${hhmm(shift(180))}`;
}

function setup(quietInside: boolean) {
  const config = configFromObject(
    {
      models: { audio_events: { backend: 'transformers', model: '/m' } },
      camera_defaults: { quiet_hours: rangeAround(new Date(), quietInside) },
      cameras: { nursery: { name: 'Nursery', sounds: ['crying', 'smoke_alarm'], cooldown_s: 60 } },
    },
    'test',
  );
  const bus = new Bus<BridgeEvents>(createLogger('silent'));
  const seen: CameraAlert[] = [];
  bus.on('camera.alert', 'test', ({ alert }) => {
    seen.push(alert);
  });
  const alerts = new SoundAlerts({ config, bus } as unknown as AppContext);
  return { alerts, seen, cam: cameraSettings(config, 'nursery') };
}

const finding = (sound: string, severity: SoundFinding['severity']): SoundFinding => ({
  sound, severity, heard: { model: 'AST', model_label: sound === 'crying' ? 'Baby cry, infant cry' : 'Smoke detector, smoke alarm', score: 0.8, clipped: false, level_dbfs: -20 },
});

describe('sound alerts: the camera alert rules and cooldown', () => {
  it('detected then described with one event id; outside quiet hours every listened sound alerts', async () => {
    const { alerts, seen, cam } = setup(false);
    expect(await alerts.raise(cam, 'rtsp', finding('crying', 'medium'), performance.now())).toBe(true);
    expect(seen.map((a) => [a.phase, a.alert, a.severity, a.event_type, a.label, a.source])).toEqual([
      ['detected', true, 'medium', 'sound', 'crying', 'rtsp'],
      ['described', true, 'medium', 'sound', 'crying', 'rtsp'],
    ]);
    expect(seen[0]?.event_id).toBe(seen[1]?.event_id);
    expect(seen[1]?.summary).toBe('Nursery: a baby crying heard (Baby cry, infant cry, 0.80)');
  });

  it('in quiet hours only high sounds alert; the others are still announced with alert false', async () => {
    const { alerts, seen, cam } = setup(true);
    await alerts.raise(cam, 'clip', finding('crying', 'medium'), performance.now());
    await alerts.raise(cam, 'clip', finding('smoke_alarm', 'high'), performance.now());
    expect(seen.filter((a) => a.phase === 'described').map((a) => [a.label, a.alert])).toEqual([
      ['crying', false],
      ['smoke_alarm', true],
    ]);
  });

  it('the cooldown is per camera and sound: a second crying waits, a smoke alarm does not', async () => {
    const { alerts, seen, cam } = setup(false);
    expect(await alerts.raise(cam, 'rtsp', finding('crying', 'medium'), performance.now())).toBe(true);
    expect(await alerts.raise(cam, 'rtsp', finding('crying', 'medium'), performance.now())).toBe(false);
    expect(await alerts.raise(cam, 'rtsp', finding('smoke_alarm', 'high'), performance.now())).toBe(true);
    expect(alerts.suppressed).toBe(1);
    expect(seen.filter((a) => a.phase === 'detected').map((a) => a.label)).toEqual(['crying', 'smoke_alarm']);
  });
});
