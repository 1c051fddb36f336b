import type { Logger } from '../log/logger.js';

/**
 * A typed in-process event bus. A failing listener is logged with its name and the others
 * still run: one broken publisher never stops a result from reaching the rest.
 */
export type Listener<T> = (payload: T) => void | Promise<void>;

export class Bus<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, { name: string; fn: Listener<never> }[]>();
  constructor(private readonly log: Logger) {}

  on<K extends keyof Events>(event: K, name: string, fn: Listener<Events[K]>): () => void {
    const list = this.listeners.get(event) ?? [];
    const entry = { name, fn: fn as Listener<never> };
    list.push(entry);
    this.listeners.set(event, list);
    return () => {
      const cur = this.listeners.get(event);
      if (cur) this.listeners.set(event, cur.filter((e) => e !== entry));
    };
  }

  /** Calls every listener; resolves when all have settled. Never rejects. */
  async emit<K extends keyof Events>(event: K, payload: Events[K]): Promise<void> {
    const list = this.listeners.get(event) ?? [];
    await Promise.all(
      list.map(async ({ name, fn }) => {
        try {
          await (fn as Listener<Events[K]>)(payload);
        } catch (err) {
          this.log.error({ module: name, event: String(event), err }, 'bus listener failed');
        }
      }),
    );
  }
}
