import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageDataUrl } from '../../src/backends/multimodal/media.js';
import { jpegFrame } from '../../src/media/jpeg-header.js';
import { InputError } from '../../src/core/errors.js';

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 20 } } });
const decoded = (url: string) => Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');

describe('multimodal image input', () => {
  it('reads a JPEG header (baseline and progressive) without sharp, as sharp reads it', async () => {
    for (const progressive of [false, true]) {
      const jpeg = await solid(640, 360).jpeg({ progressive }).withMetadata().toBuffer();
      const meta = await sharp(jpeg).metadata();
      expect(jpegFrame(jpeg)).toEqual({ sof: progressive ? 2 : 0, precision: 8, width: meta.width, height: meta.height, components: meta.channels });
    }
    expect(jpegFrame(await solid(16, 16).png().toBuffer())).toBeUndefined();
    expect(jpegFrame(Buffer.from([0xff, 0xd8, 0xff]))).toBeUndefined();
    expect(jpegFrame(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]))).toBeUndefined();
  });

  it('passes a camera JPEG through byte for byte; re-encodes CMYK and PNG to a 3-channel JPEG', async () => {
    const camera = await solid(320, 240).jpeg().toBuffer();
    expect(decoded(await imageDataUrl(camera)).equals(camera)).toBe(true);
    const cmyk = await solid(64, 64).toColourspace('cmyk').jpeg().toBuffer();
    expect(jpegFrame(cmyk)?.components).toBe(4);
    const fromCmyk = decoded(await imageDataUrl(cmyk));
    expect(jpegFrame(fromCmyk)?.components).toBe(3);
    const png = decoded(await imageDataUrl(await sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer()));
    expect(jpegFrame(png)).toMatchObject({ components: 3, width: 32, height: 32 });
  });

  it('refuses JPEGs too small or too large by their header, and bytes that are no image', async () => {
    await expect(imageDataUrl(await solid(4, 4).jpeg().toBuffer())).rejects.toThrow(/4x4 px is too small/);
    await expect(imageDataUrl(await solid(5000, 16).jpeg().toBuffer())).rejects.toThrow(/5000x16 px is too large/);
    await expect(imageDataUrl(Buffer.from('not an image'))).rejects.toBeInstanceOf(InputError);
  });
});
