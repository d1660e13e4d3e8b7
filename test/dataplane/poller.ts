// A loop that runs `tick` every `intervalMs` until stopped, one tick at a time; a failed tick is recorded, not fatal
// (the next one retries), and the owner checks `errors` at the end of a test.
export class Poller {
  private readonly tick: () => Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  stopped = false;
  readonly errors: string[] = [];

  constructor(tick: () => Promise<void>) {
    this.tick = tick;
  }

  start(intervalMs = 100): void {
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((e: unknown) => void this.errors.push(String(e)))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, intervalMs);
        });
    };
    loop();
  }

  /** Stops the loop and waits for the tick in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
