import { deviceConfig, type Component, type DeviceConfig } from '../discovery/device-discovery.js';

export const EVENT_TYPES = ['person', 'vehicle', 'animal', 'package', 'other'] as const;

export interface CameraTopics {
  result: string;
  alert: string;
  image: string;
  event: string;
  /** Sound events (audio_events): the camera's sound event entity. */
  sound: string;
}

/** `sarai/camera/<camera>/...`; `camera` must be a checked id. */
export function cameraTopics(topic: (rel: string) => string, camera: string): CameraTopics {
  return {
    result: topic(`camera/${camera}/result`),
    alert: topic(`camera/${camera}/alert`),
    image: topic(`camera/${camera}/image`),
    event: topic(`camera/${camera}/event`),
    sound: topic(`camera/${camera}/sound`),
  };
}

export interface CameraDeviceParams {
  deviceId: string;
  bridgeDeviceId: string;
  name: string;
  camera: string;
  topics: CameraTopics;
  statusTopic: string;
  alertOffS: number;
  version: string;
  /** Sound ids the camera listens for (cameras.<id>.sounds); none: no sound entity. */
  sounds?: readonly string[];
}

/** The HA device of one camera: summary sensor (+ JSON attributes), alert, image, event, and sound when it listens. */
export function cameraDevice(p: CameraDeviceParams): DeviceConfig {
  const id = p.deviceId;
  const cmps: Record<string, Component> = {
    summary: {
      p: 'sensor', name: 'Description', unique_id: `${id}_summary`, icon: 'mdi:cctv',
      state_topic: p.topics.result, value_template: '{{ value_json.summary[:255] }}',
      json_attributes_topic: p.topics.result,
    },
    alert: {
      p: 'binary_sensor', name: 'Alert', unique_id: `${id}_alert`, device_class: 'safety',
      state_topic: p.topics.alert, payload_on: 'ON', payload_off: 'OFF', off_delay: p.alertOffS,
    },
    image: {
      p: 'image', name: 'Last described image', unique_id: `${id}_image`,
      image_topic: p.topics.image, content_type: 'image/jpeg',
    },
    event: {
      p: 'event', name: 'Event', unique_id: `${id}_event`, device_class: 'motion',
      state_topic: p.topics.event, event_types: [...EVENT_TYPES],
    },
  };
  if (p.sounds && p.sounds.length > 0) {
    cmps['sound'] = {
      p: 'event', name: 'Sound', unique_id: `${id}_sound`, icon: 'mdi:ear-hearing',
      state_topic: p.topics.sound, event_types: [...p.sounds],
    };
  }
  return deviceConfig({ ids: [id], name: `${p.name} (SARAi)`, mf: 'SARAi', mdl: 'Camera AI', sw: p.version, via_device: p.bridgeDeviceId }, p.statusTopic, cmps);
}
