import { deviceConfig, type Component, type DeviceConfig } from '../publishers/discovery/device-discovery.js';

export interface SatelliteDeviceParams {
  deviceId: string;
  bridgeDeviceId: string;
  name: string;
  /** `<base>/voice/<satellite>`; the satellite id is already checked. */
  topicBase: string;
  statusTopic: string;
  version: string;
}

/** One HA device per configured satellite: transcript, response (JSON attributes) and last latency. */
export function satelliteDevice(p: SatelliteDeviceParams): DeviceConfig {
  const id = p.deviceId;
  const response = `${p.topicBase}/response`;
  const cmps: Record<string, Component> = {
    transcript: {
      p: 'sensor', name: 'Transcript', unique_id: `${id}_transcript`, icon: 'mdi:account-voice',
      state_topic: `${p.topicBase}/transcript`, value_template: '{{ value[:255] }}',
    },
    response: {
      p: 'sensor', name: 'Response', unique_id: `${id}_response`, icon: 'mdi:robot-outline',
      state_topic: response, value_template: '{{ (value_json.text or value_json.error or "")[:255] }}',
      json_attributes_topic: response,
    },
    latency: {
      p: 'sensor', name: 'Last latency', unique_id: `${id}_latency`, icon: 'mdi:timer-outline',
      state_topic: response, value_template: '{{ value_json.latency_ms }}', unit_of_measurement: 'ms',
      device_class: 'duration', state_class: 'measurement', entity_category: 'diagnostic',
    },
  };
  return deviceConfig({ ids: [id], name: `${p.name} (SARAi)`, mf: 'SARAi', mdl: 'Voice satellite', sw: p.version, via_device: p.bridgeDeviceId }, p.statusTopic, cmps);
}
