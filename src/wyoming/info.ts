/** What `describe` answers with: the `info` event data for SARAi's ASR and TTS programs. */
export interface InfoOptions {
  version: string;
  languages: string[];
  sttModel: string;
  ttsVoice: string;
  /** The text model that answers the conversation agent (shown in HA). */
  textModel?: string;
}

const ATTRIBUTION = { name: 'SARAi Omni Bridge', url: 'https://github.com/sarai-omni/sarai-omni-bridge' };

export function asrInfo(o: InfoOptions): Record<string, unknown> {
  return {
    asr: [
      {
        name: 'sarai',
        description: 'SARAi local speech to text',
        attribution: ATTRIBUTION,
        installed: true,
        version: o.version,
        models: [{ name: o.sttModel, description: o.sttModel, attribution: ATTRIBUTION, installed: true, languages: o.languages, version: o.version }],
      },
    ],
  };
}

export function ttsInfo(o: InfoOptions): Record<string, unknown> {
  return {
    tts: [
      {
        name: 'sarai',
        description: 'SARAi local text to speech',
        attribution: ATTRIBUTION,
        installed: true,
        version: o.version,
        // Wyoming 1.7: synthesize-start/chunk/stop, audio per sentence, then synthesize-stopped
        supports_synthesize_streaming: true,
        // Wyoming calls a TTS program's models "voices"
        voices: [{ name: o.ttsVoice, description: o.ttsVoice, attribution: ATTRIBUTION, installed: true, languages: o.languages, version: o.version }],
      },
    ],
  };
}

/**
 * The conversation agent: HA's Wyoming integration sets up a conversation entity for an
 * installed `handle` program, named after it, with the languages of its installed models.
 * One `handled` per `transcript`: HA (2026.x) reads no handled-start/-chunk/-stop, so
 * streaming is not announced; SARAi answers and does not control the home.
 */
export function handleInfo(o: InfoOptions): Record<string, unknown> {
  const model = o.textModel || 'sarai-text';
  return {
    handle: [
      {
        name: 'SARAi',
        description: 'SARAi local assistant: questions about the cameras and the house',
        attribution: ATTRIBUTION,
        installed: true,
        version: o.version,
        models: [{ name: model, description: model, attribution: ATTRIBUTION, installed: true, languages: o.languages, version: o.version }],
        supports_handled_streaming: false,
        supports_home_control: false,
      },
    ],
  };
}
