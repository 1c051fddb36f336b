import { hammingDistance } from '../media/image-hash.js';

/**
 * The last described scene per source, for "skip near-identical scenes". Kept per instance:
 * it only saves work, it never changes what a result says.
 */
export class SceneMemory {
  private readonly last = new Map<string, bigint>();
  /** `distance`: hash bits under which two scenes are "the same"; 0 disables. */
  constructor(private readonly distance: number) {}

  isRepeat(source: string, hash: bigint): boolean {
    if (this.distance <= 0) return false;
    const prev = this.last.get(source);
    return prev !== undefined && hammingDistance(prev, hash) < this.distance;
  }

  remember(source: string, hash: bigint): void {
    this.last.set(source, hash);
  }

  forget(source: string): void {
    this.last.delete(source);
  }
}
