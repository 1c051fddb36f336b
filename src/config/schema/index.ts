import { Type, type Static } from '@sinclair/typebox';
import { ClipSection } from './clip.js';
import { ClusterSection } from './cluster.js';
import { CamerasSection, SatellitesSection } from './devices.js';
import { MemorySection, ModelsSection, RuntimeSection } from './models.js';
import { FrigateSection, HomeAssistantSection, HttpSection, LogSection, MqttSection, WyomingSection } from './mqtt.js';
import { AudioEventsSection } from './sounds.js';
import { CameraDefaultsSection, DigestSection, RouterSection, SchedulerSection, TimelineSection, VoiceSection } from './pipeline.js';

/** The one configuration schema: YAML file, add-on options and defaults all go through it. */
export const ConfigSchema = Type.Object(
  {
    data_dir: Type.String({ default: './data', description: 'timeline database, snapshots and TTS audio; relative like models_dir' }),
    models_dir: Type.String({ default: './models', description: 'model weights; a relative path is taken from the config file\'s folder (the working directory for the default file)' }),
    mqtt: MqttSection,
    http: HttpSection,
    homeassistant: HomeAssistantSection,
    frigate: FrigateSection,
    cameras: CamerasSection,
    camera_defaults: CameraDefaultsSection,
    clip: ClipSection,
    audio_events: AudioEventsSection,
    satellites: SatellitesSection,
    models: ModelsSection,
    runtime: RuntimeSection,
    router: RouterSection,
    scheduler: SchedulerSection,
    voice: VoiceSection,
    timeline: TimelineSection,
    digest: DigestSection,
    cluster: ClusterSection,
    memory: MemorySection,
    wyoming: WyomingSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ModelConfig = Config['models'][string];
export type CameraConfig = Config['cameras'][string];
export type SatelliteConfig = Config['satellites'][string];
export { BACKEND_KINDS, ROLES } from './models.js';
export { ID_PATTERN } from './common.js';
