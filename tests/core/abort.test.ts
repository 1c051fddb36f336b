import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { callDeadline, linkSignals } from '../../src/core/abort.js';
import { TimeoutError } from '../../src/core/errors.js';

/** What a source signal keeps for signals made from it: abort listeners, and Node's own set of dependants (AbortSignal.any). */
function kept(source: AbortSignal): number {
  const dependants = Object.getOwnPropertySymbols(source)
    .filter((s) => s.description === 'kDependantSignals')
    .map((s) => (source as unknown as Record<symbol, Set<unknown> | undefined>)[s]?.size ?? 0);
  return getEventListeners(source, 'abort').length + dependants.reduce((a, b) => a + b, 0);
}

describe('linkSignals', () => {
  it('aborts with the reason of the first source to abort, and only once', () => {
    const a = new AbortController();
    const b = new AbortController();
    const { signal } = linkSignals([a.signal, undefined, b.signal]);
    expect(signal.aborted).toBe(false);
    b.abort(new Error('b first'));
    a.abort(new Error('a later'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('b first');
    expect(kept(a.signal) + kept(b.signal)).toBe(0); // an abort detaches from every source
  });

  it('a source already aborted gives an aborted signal at once', () => {
    const a = new AbortController();
    a.abort(new Error('gone'));
    const { signal } = linkSignals([new AbortController().signal, a.signal]);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('gone');
  });

  it('after unlink a source abort no longer reaches it', () => {
    const a = new AbortController();
    const { signal, unlink } = linkSignals([a.signal]);
    unlink();
    unlink(); // twice is harmless
    a.abort();
    expect(signal.aborted).toBe(false);
  });

  it('a long-lived lifetime keeps nothing for 5000 ended calls (AbortSignal.any kept one WeakRef each on Node 20)', () => {
    const lifetime = new AbortController();
    const job = new AbortController();
    for (let i = 0; i < 5000; i++) callDeadline('tiny', 30, lifetime.signal, job.signal).done();
    expect(kept(lifetime.signal)).toBe(0);
    expect(kept(job.signal)).toBe(0);
    // and the calls still end the way they should: the lifetime aborts a running one
    const running = callDeadline('tiny', 30, lifetime.signal);
    lifetime.abort(new Error('disposed'));
    expect((running.signal.reason as Error).message).toBe('disposed');
    running.done();
  });

  it('the deadline still fires and is named', async () => {
    const d = callDeadline('tiny', 0.02, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(true);
    expect(d.mapError(new Error('x'))).toBeInstanceOf(TimeoutError);
    d.done();
  });
});
