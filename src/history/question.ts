/** Reading a history question without a model: what to count, which camera, which words. */

const STOP = new Set(
  (
    'a an the and or but of to in on at for from by with about as is are was were be been being do does did done have has had ' +
    'i me my we our you your it its this that these those there here what which who whom whose when where why how many much ' +
    'any anyone anybody someone somebody some all no not yet still ever just only also than then so if into out up down over ' +
    'can could should would will shall may might must please tell show give list me us them they he she him her his their ' +
    'today yesterday tonight morning afternoon evening night week hour hours minute minutes last past since ago time times ' +
    'monday tuesday wednesday thursday friday saturday sunday january february march april june july august september october november december ' +
    'am pm oclock see seen saw happen happened happening come came camera cameras event events timeline'
  ).split(' '),
);

/** Irregular plurals and words that mean the same thing in a description. */
const SYNONYMS: Record<string, string[]> = {
  person: ['person', 'people', 'persons', 'man', 'woman', 'men', 'women', 'visitor', 'visitors'],
  people: ['person', 'people', 'persons', 'man', 'woman', 'men', 'women', 'visitor', 'visitors'],
  vehicle: ['vehicle', 'car', 'truck', 'van'],
  parcel: ['parcel', 'package', 'delivery'],
  package: ['parcel', 'package', 'delivery'],
  child: ['child', 'children', 'kid', 'kids'],
  children: ['child', 'children', 'kid', 'kids'],
};

/** Lower-case words of letters and digits, at most 200. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 200);
}

/** The words worth searching for: no stop words, no time words, no numbers. */
export function contentWords(text: string): string[] {
  return [...new Set(words(text).filter((w) => w.length > 1 && !STOP.has(w) && !/^\d+$/.test(w)))].slice(0, 16);
}

/** The singular of a simple English plural (cars -> car, deliveries -> delivery). */
function singular(w: string): string {
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (/(ches|shes|sses|xes)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss') && w.length > 3) return w.slice(0, -1);
  return w;
}

export interface CountAsk {
  /** What is counted, as said ("car"); empty: events of any kind. */
  term: string;
  /** Words an event must mention to be counted (FTS terms; porter stemming adds plurals). */
  match: string[];
}

/**
 * "how many cars ...", "how many times did the dog ...", "how often ...": what to count. The
 * count itself is always a database query; this only says of what.
 */
export function countAsk(question: string): CountAsk | undefined {
  const q = question.toLowerCase();
  const m = /\bhow (many|often)\b(.*)$/.exec(q);
  if (!m) return undefined;
  const rest = words(m[2] ?? '');
  if (rest[0] === 'times') rest.shift();
  const noun = rest.find((w) => !STOP.has(w) && !/^\d+$/.test(w) && w.length > 1);
  if (!noun || /^(event|events|thing|things|alert|alerts)$/.test(noun)) return { term: '', match: [] };
  const term = singular(noun);
  return { term, match: SYNONYMS[term] ?? SYNONYMS[noun] ?? [term] };
}

/**
 * The configured camera a question names, by id ("front_door") or id with spaces ("front
 * door"); the longest wins ("front door cam" over "front door").
 */
export function cameraMention(question: string, cameras: readonly string[]): string | undefined {
  const q = ` ${words(question).join(' ')} `;
  let best: string | undefined;
  for (const id of cameras) {
    const spoken = ` ${id.replace(/_/g, ' ')} `;
    if ((q.includes(spoken) || q.includes(` ${id} `)) && (!best || id.length > best.length)) best = id;
  }
  return best;
}
