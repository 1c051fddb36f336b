import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { transcribeCommand } from '../../src/voice/cli-commands.js';
import { makeTinyAsr } from '../fixtures/onnx/index.js';
import { captureOutput, runCli, type CliOutput } from '../helpers/cli.js';
import { requireProgram } from '../helpers/require-program.js';
import { claimedDurationS, espeakWav, ffprobe } from './helpers.js';

const ready = requireProgram('espeak-ng') && requireProgram('ffprobe');

describe.skipIf(!ready)('sarai transcribe / sarai speak', () => {
  let dir: string;
  let config: string;
  let asrText: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sarai-voice-cli-'));
    asrText = (await makeTinyAsr(path.join(dir, 'asr'))).text;
    config = path.join(dir, 'sarai.yaml');
    const models = { stt: { backend: 'transformers', model: path.join(dir, 'asr') }, tts: { backend: 'espeak' } };
    await writeFile(config, JSON.stringify({ models_dir: dir, runtime: { threads: 1, onnx_threads: 1 }, log: { level: 'warn' }, models }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const sarai = (args: string[]): Promise<CliOutput> => runCli(config, args);

  /** The command in-process (the machine is shared: one real CLI spawn is enough). */
  async function transcribe(file: string): Promise<CliOutput> {
    const models = { stt: { backend: 'transformers', model: path.join(dir, 'asr') } };
    const loaded = { config: configFromObject({ models_dir: dir, runtime: { onnx_threads: 1 }, log: { level: 'warn' }, models }, 'test'), source: 'test', baseDir: dir };
    return captureOutput(() => transcribeCommand(loaded, file, {}));
  }

  it('speak (the real CLI) writes a valid 16-bit WAV; transcribe hears speech through the stt role', async () => {
    const out = path.join(dir, 'answer.wav');
    const s = await sarai(['speak', 'the', 'garage', 'is', 'closed', '-o', out, '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ route: 'tts' });
    const wav = await readFile(out);
    const p = ffprobe(wav);
    expect(p).toMatchObject({ codec: 'pcm_s16le', bitsPerSample: 16 });
    expect(p.durationS).toBeCloseTo(claimedDurationS(wav), 2);

    const heard = path.join(dir, 'heard.wav');
    await writeFile(heard, espeakWav('hello', ['-s', '120']));
    const tr = await transcribe(heard);
    expect(tr.code).toBe(0);
    expect(tr.stdout.trim()).toBe(asrText);
    expect(tr.stderr).toMatch(/route: stt/);
  });

  it('bad input: a truncated WAV and a missing file are exit 2 with the reason', async () => {
    const bad = path.join(dir, 'bad.wav');
    const good = espeakWav('hi');
    const cut = Buffer.from(good.subarray(0, 500));
    cut.writeUInt32LE(50_000, 40);
    await writeFile(bad, cut);
    const r = await transcribe(bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/truncated/);
    const m = await transcribe(path.join(dir, 'nope.wav'));
    expect(m.code).toBe(2);
  });
});
