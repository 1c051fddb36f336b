/** Runs windows one at a time; keeps at most `maxWaiting` waiting, dropping the oldest (live audio is only worth hearing now). */
export class WindowQueue {
  private readonly waiting: Float32Array[] = [];
  private running?: Promise<void>;

  constructor(
    private readonly maxWaiting: number,
    private readonly work: (samples: Float32Array) => Promise<void>,
    private readonly onDrop: () => void,
  ) {}

  push(samples: Float32Array): void {
    this.waiting.push(samples);
    while (this.waiting.length > this.maxWaiting) {
      this.waiting.shift();
      this.onDrop();
    }
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) await this.work(next);
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
