/**
 * At most `limit` holders at once; the others wait their turn in arrival order. A host of many clients
 * (`marina client --count K`) passes one gate to all of them, so that at most `limit` of its connections
 * wait to join at once and the server's `--max-pending` is not exceeded by one process alone.
 */
export class JoinGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`JoinGate: limit must be an integer ≥ 1, got ${limit}`);
  }

  /** Resolves once this caller holds a place; the returned function gives it back (calling it again does nothing). */
  async enter(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((r) => this.waiting.push(r)); // the leaver hands its place over
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}
