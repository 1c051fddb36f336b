import { describe, expect, it } from 'vitest';
import { OpenAIBackend } from '../../src/backends/openai/backend.js';
import { BackendRegistry, backendKinds, type BackendFactory } from '../../src/backends/registry.js';
import '../../src/backends/kinds.js';
import { CircuitBreaker } from '../../src/backends/circuit.js';
import { configFromObject } from '../../src/config/load.js';
import { LogSink } from '../helpers/app.js';
import { createLogger } from '../../src/log/logger.js';

describe('backend registry', () => {
  it('registers the built-in kinds on import', () => {
    expect(backendKinds()).toEqual(expect.arrayContaining(['llama', 'transformers', 'openai', 'ollama']));
  });

  it('builds roles from config: disabled skipped, unregistered kinds skipped with a warning, disposal in reverse order', async () => {
    const sink = new LogSink();
    const disposed: string[] = [];
    const openai: BackendFactory = (ctx) => {
      const b = new OpenAIBackend({ role: ctx.role, spec: ctx.spec, log: ctx.log });
      const dispose = b.dispose.bind(b);
      b.dispose = async () => {
        disposed.push(ctx.role);
        await dispose();
      };
      return b;
    };
    const config = configFromObject(
      {
        models: {
          omni: { backend: 'openai', url: 'http://127.0.0.1:9/v1' },
          tiny: { backend: 'openai', url: 'http://127.0.0.1:9/v1' },
          expert: { backend: 'openai', url: 'http://127.0.0.1:9/v1', enabled: false },
          speech: { backend: 'espeak', voice: 'en-us' },
          vision: { backend: 'openai', url: 'http://127.0.0.1:9/v1' },
        },
      },
      'test',
    );
    const registry = new BackendRegistry({ config, modelsDir: '/tmp', log: createLogger('debug', sink), kinds: new Map([['openai', openai]]) });
    await registry.start();
    expect(registry.roles()).toEqual(['omni', 'tiny', 'vision']);
    expect(registry.unavailable('expert')).toBe('disabled');
    expect(registry.unavailable('speech')).toBe('has no backend kind');
    expect(registry.unavailable('nope')).toBe('not configured');
    const warn = sink.lines.find((l) => l.level === 'warn' && l.role === 'speech');
    expect(warn?.msg).toBe('speech: no backend kind "espeak" is registered (known: openai); role skipped');
    await registry.stop();
    expect(disposed).toEqual(['vision', 'tiny', 'omni']);
  });

  it('an enabled role that cannot be built is a problem on the bridge, with the reason, not a silent gap', async () => {
    const config = configFromObject({ models: { omni: { backend: 'openai', url: 'http://127.0.0.1:9/v1' }, speech: { backend: 'espeak', voice: 'en-us' } } }, 'test');
    const failing: BackendFactory = () => {
      throw new Error('no such device');
    };
    const registry = new BackendRegistry({ config, modelsDir: '/tmp', log: createLogger('silent'), kinds: new Map([['openai', failing]]) });
    registry.build();
    expect(registry.roles()).toEqual([]);
    expect(registry.unavailable('omni')).toBe('cannot build the openai backend: no such device');
    expect(registry.unavailable('speech')).toBe('has no backend kind');
    expect(registry.health().map((h) => [h.role, h.up, h.state])).toEqual([['omni', false, 'failed'], ['speech', false, 'failed']]);
    const state = registry.bridgeState() as { backend_problem: boolean; backend_problems: string[] };
    expect(state.backend_problem).toBe(true);
    expect(state.backend_problems).toEqual(['omni: cannot build the openai backend: no such device', 'speech: no backend kind "espeak" is registered (known: openai)']);
    await registry.stop();
  });

  it('uses backends another service owns, and leaves their disposal to it', async () => {
    const config = configFromObject({ models: { tiny: { backend: 'openai', url: 'http://127.0.0.1:9/v1' } } }, 'test');
    const owned = new OpenAIBackend({ role: 'tiny', spec: config.models.tiny as never, log: createLogger('silent') });
    const registry = new BackendRegistry({ config, modelsDir: '/tmp', log: createLogger('silent'), external: (role) => (role === 'tiny' ? owned : undefined) });
    await registry.start();
    expect(registry.get('tiny')?.backend).toBe(owned);
    await registry.stop();
    expect(owned.health().state).toBe('idle');
    await expect(owned.start()).rejects.toThrow(/cannot reach/); // not disposed: still usable
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, lets one probe through after the reset time, closes on success', () => {
    let now = 0;
    const c = new CircuitBreaker(2, 1000, () => now);
    c.failure();
    expect(c.state).toBe('closed');
    c.failure();
    expect(c.state).toBe('open');
    expect(c.allow()).toBe(false);
    now = 1000;
    expect(c.state).toBe('half_open');
    expect(c.allow()).toBe(true);
    expect(c.allow()).toBe(false); // one probe at a time
    c.failure();
    expect(c.state).toBe('open');
    now = 2000;
    expect(c.allow()).toBe(true);
    c.success();
    expect(c.state).toBe('closed');
    expect(c.allow()).toBe(true);
  });
});
