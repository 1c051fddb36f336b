/**
 * Worker-thread entry: owns the transformers.js pipelines of every `transformers` backend in
 * the process and answers HostRequests (see host-protocol.ts). Errors go back as messages;
 * nothing here may throw past the message handler.
 */
import { parentPort } from 'node:worker_threads';
import { env, RawImage } from '@huggingface/transformers';
import type { HostReply, HostRequest, LoadInfo, WorkerMemory } from './host-protocol.js';
import { loadPipeline, modelSampleRate, runCaption, runClassifyAudio, runEmbed, runSynthesize, runTranscribe, type TaskPipeline } from './pipelines.js';

const port = parentPort;
if (!port) throw new Error('pipeline-host.ts runs as a worker thread');

const pipes = new Map<number, TaskPipeline>();
const calls = new Map<number, AbortController>();

function reply(msg: HostReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(msg, transfer);
}

function pipeOf(id: number): TaskPipeline {
  const p = pipes.get(id);
  if (!p) throw new Error(`pipeline ${id} is not loaded`);
  return p;
}

async function handle(msg: HostRequest): Promise<void> {
  switch (msg.op) {
    case 'load': {
      env.allowLocalModels = true;
      env.allowRemoteModels = msg.env.allowRemoteModels;
      env.localModelPath = msg.env.localModelPath;
      env.cacheDir = msg.env.cacheDir;
      env.useFSCache = msg.env.useFSCache;
      if (msg.env.remoteHost) env.remoteHost = msg.env.remoteHost;
      const pipe = await loadPipeline(msg.task, msg.modelRef, {
        ...(msg.dtype ? { dtype: msg.dtype } : {}),
        sessionOptions: msg.sessionOptions,
        localFilesOnly: msg.localFilesOnly,
        ...(msg.progress ? { onProgress: (info) => reply({ id: msg.id, kind: 'progress', info: { ...info } }) } : {}),
      });
      pipes.set(msg.pipe, pipe);
      const sampleRate = modelSampleRate(pipe);
      const info: LoadInfo = { ...(sampleRate ? { sampleRate } : {}), ...(pipe.model.config.model_type ? { modelType: pipe.model.config.model_type } : {}) };
      reply({ id: msg.id, kind: 'result', value: info });
      return;
    }
    case 'caption': {
      const ctl = new AbortController();
      calls.set(msg.id, ctl);
      try {
        const image = new RawImage(msg.image.data, msg.image.width, msg.image.height, 3);
        const r = await runCaption(pipeOf(msg.pipe), image, {
          maxNewTokens: msg.maxNewTokens,
          signal: ctl.signal,
          ...(msg.stream ? { onToken: (text: string) => reply({ id: msg.id, kind: 'token', text }) } : {}),
        });
        reply({ id: msg.id, kind: 'result', value: r });
      } finally {
        calls.delete(msg.id);
      }
      return;
    }
    case 'transcribe':
      reply({ id: msg.id, kind: 'result', value: await runTranscribe(pipeOf(msg.pipe), msg.samples, msg.rate) });
      return;
    case 'synthesize': {
      const out = await runSynthesize(pipeOf(msg.pipe), msg.text);
      const samples = out.samples.slice(); // own buffer, so it can be transferred
      reply({ id: msg.id, kind: 'result', value: { samples, sampleRate: out.sampleRate } }, [samples.buffer]);
      return;
    }
    case 'embed': {
      const vectors = await runEmbed(pipeOf(msg.pipe), msg.texts);
      reply({ id: msg.id, kind: 'result', value: vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
      return;
    }
    case 'classify_audio':
      reply({ id: msg.id, kind: 'result', value: await runClassifyAudio(pipeOf(msg.pipe), msg.samples) });
      return;
    case 'memory': {
      const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage(); // in a worker: this isolate's heap
      reply({ id: msg.id, kind: 'result', value: { heapUsed, heapTotal, external, arrayBuffers } satisfies WorkerMemory });
      return;
    }
    case 'abort':
      calls.get(msg.target)?.abort(new Error('aborted by the caller'));
      reply({ id: msg.id, kind: 'result', value: null });
      return;
    case 'dispose': {
      const p = pipes.get(msg.pipe);
      pipes.delete(msg.pipe);
      await p?.dispose();
      reply({ id: msg.id, kind: 'result', value: null });
      return;
    }
  }
}

port.on('message', (msg: HostRequest) => {
  handle(msg).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ id: msg.id, kind: 'error', name: e.name, message: e.message });
  });
});
