/**
 * The secret values in play across the operator, by owner (a release's uid): what the operator's log
 * function, events, status and history writers mask. An owner replaces its values as it resolves them and
 * is forgotten when it goes, so a deleted release's secrets stop costing a masking pass.
 */
import { createMasker, type Masker } from '../planning/masking.ts';

export class SecretRegistry {
  private readonly owners = new Map<string, ReadonlySet<string>>();
  /** Work in flight per owner that still needs its values masked. */
  private readonly holds = new Map<string, number>();
  /** Owners forgotten while held: they go when the last hold is released. */
  private readonly leaving = new Set<string>();
  private current: Masker | undefined;
  private readonly view: Masker;

  constructor() {
    const current = () => (this.current ??= createMasker(new Set([...this.owners.values()].flatMap((values) => [...values].flatMap(shownAs)))));
    const view = ((text: string) => current()(text)) as Masker;
    Object.defineProperty(view, 'deep', { value: <T>(value: T) => current().deep(value) });
    Object.defineProperty(view, 'size', { get: () => current().size });
    this.view = view;
  }

  set(owner: string, values: Iterable<string>): void {
    const next = new Set(values);
    const previous = this.owners.get(owner) ?? new Set<string>();
    if (previous.size === next.size && [...next].every((v) => previous.has(v))) return;
    if (next.size === 0) this.owners.delete(owner);
    else this.owners.set(owner, next);
    this.current = undefined;
  }

  /**
   * Adds values to an owner's set: a release resolves its variables per environment and target, and a value
   * masked for one of them must stay masked while the work it went into is still running.
   */
  add(owner: string, values: Iterable<string>): void {
    this.set(owner, [...(this.owners.get(owner) ?? []), ...values]);
  }

  forget(owner: string): void {
    if (this.holds.has(owner)) {
      this.leaving.add(owner);
      return;
    }
    if (this.owners.delete(owner)) this.current = undefined;
  }

  /**
   * Keeps an owner's values masked while work that used them is still in flight — a notification being
   * retried after its release was deleted reports errors that may quote them — even past `forget`, which
   * then takes effect once the last hold is released. Returns the release (idempotent).
   */
  hold(owner: string): () => void {
    this.holds.set(owner, (this.holds.get(owner) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(owner) ?? 1) - 1;
      if (left > 0) {
        this.holds.set(owner, left);
        return;
      }
      this.holds.delete(owner);
      if (this.leaving.delete(owner)) this.forget(owner);
    };
  }

  /** One masker for the operator's lifetime; it follows every later `set` and `forget`. */
  masker(): Masker {
    return this.view;
  }
}

/**
 * A value and the form it shows in text with its surrounding whitespace gone: a Secret made from a file
 * (`kubectl create secret --from-file`) ends in a newline that `echo` prints but a trimmed log tail, a
 * header or a line split drops, which would leave the value itself unmasked.
 */
function shownAs(value: string): string[] {
  const trimmed = value.trim();
  return trimmed === value || trimmed === '' ? [value] : [value, trimmed];
}
