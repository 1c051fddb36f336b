import { Type } from '@sinclair/typebox';
import { Section } from './common.js';

/** Several workers on one MQTT 5 broker (docs/DESIGN.md "When one box is not enough"). */
export const ClusterSection = Section({
  group: Type.String({
    default: '',
    pattern: '^([a-z0-9_]+)?$',
    maxLength: 64,
    description: 'empty: one worker. Set: inputs are subscribed as $share/<group>/... on an external MQTT 5 broker, so each message goes to one worker of the group',
  }),
  worker_id: Type.String({
    default: '',
    pattern: '^([a-z0-9_]+)?$',
    maxLength: 64,
    description: 'this worker in the group (topic sarai/worker/<id>/status); empty: <hostname>_<pid>, cleaned to [a-z0-9_]',
  }),
  voice_streams: Type.Boolean({
    default: false,
    description: 'take voice audio (complete WAVs and start/chunk/stop streams) and listen to live camera audio (cameras.<id>.sound_rtsp) on this worker; not shared, since a stream must stay on one worker: set it on one worker of the group',
  }),
  clock_skew_s: Type.Integer({
    default: 120,
    minimum: 1,
    maximum: 86_400,
    description: 'a retained result up to this much newer than a new one makes the new one stale; further ahead is taken as clock skew and ignored for ordering (warned)',
  }),
});
