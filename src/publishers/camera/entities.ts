import { deviceConfig, type Component, type DeviceConfig } from '../discovery/device-discovery.js';

export const EVENT_TYPES = ['person', 'vehicle', 'animal', 'package', 'other'] as const;

export interface CameraTopics {
  result: string;
  alert: string;
  image: string;
  event: string;
}

/** `sarai/camera/<camera>/...`; `camera` must be a checked id. */
export function cameraTopics(topic: (rel: string) => string, camera: string): CameraTopics {
  return {
    result: topic(`camera/${camera}/result`),
    alert: topic(`camera/${camera}/alert`),
    image: topic(`camera/${camera}/image`),
    event: topic(`camera/${camera}/event`),
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
}

/** The HA device of one camera: summary sensor (+ JSON attributes), alert, image and event. */
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
  return deviceConfig({ ids: [id], name: `${p.name} (SARAi)`, mf: 'SARAi', mdl: 'Camera AI', sw: p.version, via_device: p.bridgeDeviceId }, p.statusTopic, cmps);
}
