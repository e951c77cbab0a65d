/**
 * The run's phases, in order: clients join (hello, assign, report), rounds run, the server says bye and waits
 * for sockets to close, then the summary is written.
 */
export type Phase = 'joining' | 'running' | 'ending' | 'done';

/**
 * A run's lifecycle: the phase (only forward), why it ended, and its timers (the round deadline, the wait for
 * a vacated rank, the wait for all n to join), which it clears when the run ends.
 */
export class RunLifecycle {
  private current: Phase = 'joining';
  private reason: string | null = null;
  private readonly timers = new Map<'round' | 'join' | 'wait', NodeJS.Timeout>();

  get phase(): Phase {
    return this.current;
  }

  /** Why the run ended (null while it has not). */
  get endReason(): string | null {
    return this.reason;
  }

  get over(): boolean {
    return this.current === 'ending' || this.current === 'done';
  }

  /** joining → running, once. */
  start(): void {
    if (this.current !== 'joining') throw new Error(`lifecycle: start() in phase ${this.current}`);
    this.current = 'running';
  }

  /** → ending with `reason`; false (and nothing changes) if the run is already ending or done. */
  end(reason: string): boolean {
    if (this.over) return false;
    this.current = 'ending';
    this.reason = reason;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    return true;
  }

  /** ending → done, once; false if not ending. */
  complete(): boolean {
    if (this.current !== 'ending') return false;
    this.current = 'done';
    return true;
  }

  /** (Re)arms a timer; it does not fire once the run ends. */
  arm(which: 'round' | 'join' | 'wait', ms: number, fire: () => void, unref = false): void {
    this.disarm(which);
    if (this.over) return;
    const t = setTimeout(() => {
      this.timers.delete(which);
      fire();
    }, ms);
    if (unref) t.unref();
    this.timers.set(which, t);
  }

  disarm(which: 'round' | 'join' | 'wait'): void {
    const t = this.timers.get(which);
    if (t) clearTimeout(t);
    this.timers.delete(which);
  }

  armed(which: 'round' | 'join' | 'wait'): boolean {
    return this.timers.has(which);
  }
}
