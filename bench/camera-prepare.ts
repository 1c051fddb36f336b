/**
 * The camera path's prepare step alone (decode, check, resize, re-encode, hash), against a
 * bare sharp decode of the same JPEG, interleaved in one loop so every variant sees the same
 * machine load (this box is shared: compare within a run, never across runs):
 *  - resize path: 1280x720 snapshots (~220 KB) for a 448 px model (resize + re-encode + hash);
 *    and the same bytes behind an EXIF block with no orientation tag, which the JS header read
 *    cannot vouch for, so libvips's auto-orient step runs (what every snapshot cost before);
 *  - pass-through: the same snapshots for a 1280 px model, which take them as they are
 *    (one decode + hash, no re-encode), and the same with pass-through off (what every
 *    snapshot cost before: resize-less re-encode).
 * Prints p50/p90 per variant and each one's excess over the bare decode.
 * Run: npx tsx bench/camera-prepare.ts [--rounds N]
 */
import sharp from 'sharp';
import { prepareImage } from '../src/media/image.js';
import { patternJpeg } from '../tests/camera/helpers.js';
import { percentile, printTable } from './stats.js';
import os from 'node:os';

const argv = process.argv.slice(2);
const roundsArg = argv.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(argv[roundsArg + 1]) : 6;
const images: Buffer[] = [];
for (let i = 0; i < 20; i++) images.push(await patternJpeg(i + 1, 1280, 720, 80));
const avgKb = images.reduce((a, b) => a + b.length, 0) / images.length / 1024;
/** APP1 Exif, little-endian TIFF, IFD0 with one entry (Make, empty) and no orientation. */
const exifNoOrientation = Buffer.from([
  0xff, 0xe1, 0, 34, ...Buffer.from('Exif\0\0', 'latin1'),
  0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x0f, 0x01, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);
const withExif = (img: Buffer) => Buffer.concat([img.subarray(0, 2), exifNoOrientation, img.subarray(2)]);
const exifImages = new Map(images.map((img) => [img, withExif(img)]));

const variants: [string, (img: Buffer) => Promise<unknown>][] = [
  ['bare sharp decode', (img) => sharp(img).raw().toBuffer()],
  ['prepare, model 448 px (resize + re-encode)', (img) => prepareImage(img, { maxSide: 448, maxBytes: 1 << 30 })],
  ['same, auto-orient step run (EXIF, no orientation)', (img) => prepareImage(exifImages.get(img) as Buffer, { maxSide: 448, maxBytes: 1 << 30 })],
  ['prepare, model 1280 px, pass-through', (img) => prepareImage(img, { maxSide: 1280, maxBytes: 1 << 30 })],
  ['prepare, model 1280 px, re-encode (before)', (img) => prepareImage(img, { maxSide: 1280, maxBytes: 1 << 30, passThrough: false })],
];
// warm-up: sharp's first pipeline loads libvips
for (const [, run] of variants) await run(images[0] as Buffer);
const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
const load = os.loadavg()[0] ?? 0;
for (let r = 0; r < ROUNDS; r++) {
  for (const img of images) {
    for (const [name, run] of variants) {
      const t = performance.now();
      await run(img);
      times.get(name)?.push(performance.now() - t);
    }
  }
}
const decode = percentile(times.get('bare sharp decode') ?? [], 50);
printTable(
  `prepareImage vs a bare decode, ${avgKb.toFixed(0)} KB 1280x720 JPEGs, ${ROUNDS * images.length} samples each, interleaved; ${os.cpus().length} cores, 1-min load ${load.toFixed(1)} at start`,
  ['variant', 'p50 ms', 'p90 ms', 'p50 - decode p50'],
  variants.map(([name]) => {
    const v = times.get(name) ?? [];
    const p50 = percentile(v, 50);
    return [name, p50.toFixed(1), percentile(v, 90).toFixed(1), (p50 - decode).toFixed(1)];
  }),
);
