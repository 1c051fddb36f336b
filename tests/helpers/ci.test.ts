import { describe, expect, it } from 'vitest';
import { underCI } from './ci.js';

describe('underCI', () => {
  it('treats CI=1 like CI=true, and only unset/empty/0/false/no as a developer machine', () => {
    for (const v of ['true', '1', 'yes', 'TRUE', 'woodpecker']) expect(underCI({ CI: v })).toBe(true);
    for (const v of [undefined, '', '0', 'false', 'no', ' False ']) expect(underCI({ CI: v })).toBe(false);
  });
});
