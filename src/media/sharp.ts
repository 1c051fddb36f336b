import type sharpType from 'sharp';

let loading: Promise<typeof sharpType> | undefined;
let loaded: typeof sharpType | undefined;

/**
 * sharp (libvips) loaded on first use: about 90 ms of start-up a bridge without images never
 * needs to pay.
 */
export function loadSharp(): Promise<typeof sharpType> {
  loading ??= import('sharp').then((m) => (loaded = m.default));
  return loading;
}

/**
 * sharp once loaded, else undefined: lets a caller queue its libvips work in the same tick
 * (the camera path starts decoding before it writes the detected image to the socket).
 */
export function sharpIfLoaded(): typeof sharpType | undefined {
  return loaded;
}
