/**
 * A deterministic text embedding for the bench only: hashed bag of words plus hashed
 * character 3-grams of each word (FNV-1a into `dim` buckets, signed), L2-normalised. It is a
 * lexical embedding — it knows no synonyms — but unlike a tiny random model its vectors mean
 * something, so recall@5 measured with it says how the vector path (sqlite-vec KNN) ranks.
 */
const STOP = new Set('a an the and or of to in on at by for with is are was were be did do does has have had it its this that what when who how where which any there from into'.split(' '));

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashedEmbedding(text: string, dim = 256): Float32Array {
  const v = new Float32Array(dim);
  const words = (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !STOP.has(w));
  for (const w of words) {
    const h = fnv1a(w);
    v[h % dim] = (v[h % dim] ?? 0) + (h & 0x80000000 ? -1 : 1) * 2;
    const padded = `<${w}>`;
    for (let i = 0; i + 3 <= padded.length; i++) {
      const g = fnv1a(padded.slice(i, i + 3));
      v[g % dim] = (v[g % dim] ?? 0) + (g & 0x80000000 ? -0.5 : 0.5);
    }
  }
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < dim; i++) v[i] = (v[i] ?? 0) / n;
  return v;
}
