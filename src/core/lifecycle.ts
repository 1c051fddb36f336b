/**
 * A part of the bridge with a life: started in order by the composition root (src/app.ts)
 * and stopped in reverse. Constructors only set fields; work starts in start().
 */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
