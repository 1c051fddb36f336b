/**
 * Demo data for the documentation screenshots: flat-illustration camera scenes rendered from
 * SVG by sharp (JPEG, like real snapshots) and results shaped exactly like the camera path's.
 */
import sharp from 'sharp';
import type { CameraResult, VoiceResponse } from '../../src/core/results.js';

const W = 640;
const H = 480;

function svg(body: string, sky: [string, string], ground: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${sky[0]}"/><stop offset="1" stop-color="${sky[1]}"/></linearGradient></defs>
  <rect width="${W}" height="${H}" fill="url(#sky)"/><rect y="330" width="${W}" height="150" fill="${ground}"/>${body}</svg>`;
}

const person = (x: number, y: number, s: number, coat: string): string =>
  `<g transform="translate(${x} ${y}) scale(${s})"><circle cx="0" cy="-150" r="22" fill="#e0b48c"/><rect x="-28" y="-126" width="56" height="86" rx="18" fill="${coat}"/><rect x="-24" y="-44" width="20" height="76" rx="8" fill="#37474f"/><rect x="4" y="-44" width="20" height="76" rx="8" fill="#37474f"/></g>`;

export const SCENES: Record<string, string> = {
  door_day: svg(
    `<rect x="170" y="90" width="300" height="250" fill="#b0856b"/><rect x="270" y="160" width="100" height="180" fill="#5d4037"/><circle cx="355" cy="255" r="6" fill="#ffd54f"/>
     <rect x="190" y="140" width="60" height="60" fill="#cfe8f7" stroke="#fff" stroke-width="6"/><rect x="390" y="140" width="60" height="60" fill="#cfe8f7" stroke="#fff" stroke-width="6"/>
     ${person(420, 420, 1.3, '#1565c0')}<rect x="300" y="365" width="70" height="50" fill="#c8a165" stroke="#8d6e63" stroke-width="3"/><path d="M300 388h70" stroke="#8d6e63" stroke-width="3"/>`,
    ['#90caf9', '#e3f2fd'], '#9e9e9e'),
  door_night: svg(
    `<rect x="170" y="90" width="300" height="250" fill="#4e342e"/><rect x="270" y="160" width="100" height="180" fill="#2b1d18"/><circle cx="320" cy="120" r="14" fill="#ffe082"/>
     <circle cx="320" cy="120" r="60" fill="#ffe082" opacity=".18"/>`,
    ['#0d1b2a', '#1b263b'], '#37474f'),
  driveway: svg(
    `<path d="M200 480 L300 330 L360 330 L520 480Z" fill="#757575"/><g transform="translate(250 300)"><rect x="0" y="40" width="190" height="60" rx="18" fill="#90a4ae"/><path d="M30 40 L60 5 H140 L165 40Z" fill="#b0bec5"/>
     <path d="M48 38 L68 12 H100 V38Z M108 38 V12 H136 L152 38Z" fill="#dbeefa"/><circle cx="45" cy="100" r="20" fill="#263238"/><circle cx="150" cy="100" r="20" fill="#263238"/></g>
     <rect x="40" y="150" width="120" height="180" fill="#8d6e63"/><path d="M30 150 L100 90 L170 150Z" fill="#6d4c41"/>`,
    ['#ffcc80', '#fff3e0'], '#7cb342'),
  garden: svg(
    `<circle cx="110" cy="300" r="70" fill="#558b2f"/><rect x="100" y="300" width="20" height="60" fill="#6d4c41"/><circle cx="540" cy="290" r="55" fill="#689f38"/>
     <g transform="translate(300 360)"><ellipse cx="0" cy="0" rx="70" ry="28" fill="#e65100"/><path d="M55 -10 L105 -40 L95 5Z" fill="#e65100"/><path d="M92 -38 l6 -18 l8 16Z" fill="#bf360c"/>
     <path d="M-65 -5 Q-130 -20 -150 10 Q-110 10 -70 10Z" fill="#ef6c00"/><path d="M-150 10 l-12 -4 l10 -8z" fill="#fff"/><rect x="-45" y="15" width="10" height="36" fill="#4e342e"/><rect x="30" y="15" width="10" height="36" fill="#4e342e"/></g>`,
    ['#b3e5fc', '#e1f5fe'], '#8bc34a'),
  back_door: svg(
    `<rect x="120" y="80" width="400" height="260" fill="#3e2723"/><rect x="280" y="150" width="100" height="190" fill="#1b1210"/>${person(250, 430, 1.25, '#212121')}
     <circle cx="360" cy="250" r="6" fill="#9e9e9e"/>`,
    ['#101820', '#1c2833'], '#263238'),
};

export async function sceneJpeg(name: string): Promise<Buffer> {
  const s = SCENES[name];
  if (!s) throw new Error(`no scene ${name}`);
  return sharp(Buffer.from(s)).jpeg({ quality: 82 }).toBuffer();
}

/** A demo result as written below: the camera path fills in the rest. */
type Demo = Omit<CameraResult, 'id' | 'ts' | 'route_reason' | 'source'> & { scene: string; minutesAgo: number };

const DEMOS: Demo[] = [
  { scene: 'door_night', camera: 'front_door', minutesAgo: 400, summary: 'Porch light on, nobody at the door.', description: 'The porch is empty; the outside light is on and the door is closed.', objects: ['door', 'lamp'], alert: false, severity: 'none', event_type: 'other', route: 'vision', model: 'Florence-2-base', latency_ms: 412 },
  { scene: 'garden', camera: 'garden', minutesAgo: 190, summary: 'A fox is crossing the lawn towards the hedge.', description: 'A red fox walks across the middle of the lawn from left to right. No people are visible. The garden gate is closed.', objects: ['fox', 'lawn', 'tree'], alert: false, severity: 'low', event_type: 'animal', route: 'omni', model: 'Qwen2.5-Omni-7B', latency_ms: 1630, label: 'dog' },
  { scene: 'back_door', camera: 'back_door', minutesAgo: 95, summary: 'A person in dark clothes is at the back door at night.', description: 'One person in a dark jacket stands close to the back door and reaches towards the handle. The garden is dark and nobody else is visible.', objects: ['person', 'door'], alert: true, severity: 'high', event_type: 'person', route: 'omni', model: 'Qwen2.5-Omni-7B', latency_ms: 1910, label: 'person', zones: ['back_porch'] },
  { scene: 'driveway', camera: 'driveway', minutesAgo: 34, summary: 'A grey car pulled into the driveway.', description: 'A grey hatchback has stopped in the driveway in front of the garage. The driver is still inside.', objects: ['car', 'driveway', 'garage'], alert: false, severity: 'low', event_type: 'vehicle', route: 'omni', model: 'Qwen2.5-Omni-7B', latency_ms: 1475, label: 'car' },
  { scene: 'door_day', camera: 'front_door', minutesAgo: 3, summary: 'A courier left a parcel at the front door.', description: 'A person in a blue jacket is walking away from the front door after placing a cardboard parcel on the step. The door is closed.', objects: ['person', 'parcel', 'door'], alert: true, severity: 'medium', event_type: 'package', route: 'omni', model: 'Qwen2.5-Omni-7B', latency_ms: 1720, label: 'person', zones: ['porch'] },
];

/** Demo results, oldest first, with their snapshots. */
export async function demoResults(now = Date.now()): Promise<{ result: CameraResult; image: Buffer }[]> {
  const out: { result: CameraResult; image: Buffer }[] = [];
  for (const [i, { scene, minutesAgo, ...d }] of DEMOS.entries()) {
    const at = now - minutesAgo * 60_000;
    out.push({
      image: await sceneJpeg(scene),
      result: {
        ...d,
        id: `demo${i}_${at.toString(36)}`,
        ts: new Date(at).toISOString(),
        route_reason: d.route === 'omni' ? 'image input -> omni' : 'omni unhealthy -> vision',
        source: d.label ? 'frigate' : 'mqtt',
      },
    });
  }
  return out;
}

export const DEMO_VOICE: VoiceResponse[] = [
  { id: 'v1', satellite: 'kitchen', transcript: 'Is anyone at the front door?', text: 'A courier left a parcel at the front door three minutes ago. Nobody is there now.', route: 'tiny', model: 'LFM2-1.2B', latency_ms: 640, tts_url: 'api/tts/v1.wav' },
  { id: 'v2', satellite: 'living_room', transcript: 'Turn on the porch light in ten minutes', text: 'Okay, I will remind Home Assistant to turn on the porch light at 19:40.', route: 'tiny', model: 'LFM2-1.2B', latency_ms: 580, tts_url: 'api/tts/v2.wav' },
];
