import { perContext } from '../../core/context.js';
import { ffmpegMajorVersion, locateFfmpeg, type FfmpegLocation } from './locate.js';

export interface FfmpegProbe extends FfmpegLocation {
  /** Major version, probed only when a camera has an rtsp_url (it picks RTSP options; the probe is an ffmpeg run, ~150 ms of start-up). */
  major?: number;
  /** Older than 5: the old RTSP timeout option, and camera credentials only on the command line. */
  legacy: boolean;
}

/** The ffmpeg of this bridge, found and version-probed once for every feature (clips, live audio). Rejects with FfmpegNotFoundError. */
export const ffmpegOf = perContext(async (ctx): Promise<FfmpegProbe> => {
  const found = await locateFfmpeg({ configPath: ctx.config.clip.ffmpeg_path });
  const rtsp = Object.values(ctx.config.cameras).some((c) => c.rtsp_url);
  const major = rtsp ? await ffmpegMajorVersion(found.path) : undefined;
  return { ...found, ...(major === undefined ? {} : { major }), legacy: major !== undefined && major < 5 };
});
