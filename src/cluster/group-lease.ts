/**
 * The group's lease: which worker runs the group's once-a-group jobs (the scheduled digest).
 * The holder is the live worker with the lowest id (byte order), live meaning its retained
 * `<base>/worker/<id>/status` says `online`. No election messages and no expiry timer: the
 * broker's last will (or a clean stop's `offline`) moves the lease to the next id, and every
 * worker computes the same holder from the same retained topics.
 */
export class GroupLease {
  private readonly live = new Set<string>();

  /** `connected`: our own MQTT connection; while it is down we hold nothing (our will moves the lease). */
  constructor(
    readonly self: string,
    private readonly connected: () => boolean,
  ) {}

  /** A `worker/<id>/status` message (retained or live). */
  observe(worker: string, status: string): void {
    if (status === 'online') this.live.add(worker);
    else this.live.delete(worker);
  }

  /** The current holder as this worker sees it (undefined while it is disconnected). */
  holder(): string | undefined {
    if (!this.connected()) return undefined;
    let best = this.self;
    for (const w of this.live) if (w < best) best = w;
    return best;
  }

  holds(): boolean {
    return this.holder() === this.self;
  }

  /** This worker's place among the live workers sorted by id (a model pool's home server); undefined while disconnected. */
  place(): { index: number; of: number } | undefined {
    if (!this.connected()) return undefined;
    const ids = [...new Set([...this.live, this.self])].sort();
    return { index: ids.indexOf(this.self), of: ids.length };
  }
}
