import { describe, expect, it } from 'vitest';
import { defaultEntityId, instanceSlug } from '../../src/publishers/discovery/device-discovery.js';

// HA's valid_entity_id (homeassistant/core.py): lowercase letters, digits and single
// underscores, none at either end of the domain or the object id.
const HA_ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;

describe('default_entity_id for discovered components', () => {
  it('is <platform>.<instance>_<device>_<component>', () => {
    expect(defaultEntityId('sensor', 'sarai_sarai_camera_front_door', 'summary')).toBe('sensor.sarai_camera_front_door_summary');
    expect(defaultEntityId('sensor', 'sarai_sarai_bridge', 'queue')).toBe('sensor.sarai_bridge_queue');
    expect(defaultEntityId('sensor', `sarai_${instanceSlug('home/sarai-2')}_satellite_kitchen`, 'transcript')).toBe('sensor.home_sarai_2_satellite_kitchen_transcript');
  });

  it('stays a valid HA entity id for every camera id the topics accept ([a-z0-9_]+)', () => {
    for (const camera of ['front__door', '_cam_', '9', '___', 'a_b_c']) {
      const id = defaultEntityId('binary_sensor', `sarai_sarai_camera_${camera}`, 'alert');
      expect(id, camera).toMatch(HA_ENTITY_ID);
    }
    expect(defaultEntityId('binary_sensor', 'sarai_sarai_camera_front__door_', 'alert')).toBe('binary_sensor.sarai_camera_front_door_alert');
  });
});
