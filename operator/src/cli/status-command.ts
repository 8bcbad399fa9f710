/**
 * `status <release> [--watch]`: the progress view of one Release (progress-view.ts), printed once; with
 * --watch followed until the release ends — redrawn in place on a terminal, printed again at each change
 * otherwise (a log or a pipe keeps every state, as `kubectl get -w` does). `-o json|yaml` prints the status
 * object instead. The Release is read every second rather than watched: one GET a second is nothing to the
 * API server, and a poll has no watch expiry, resourceVersion or reconnect to get right.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomResources } from '../controllers/custom-resources.ts';
import { kubeConfigOf, namespaceOf, type KubeAccessOptions } from './kube-access.ts';
import { formatObject, outputFormat } from './output-format.ts';
import { renderProgressView, type ReleaseView } from './progress-view.ts';

export interface StatusCommandOptions extends KubeAccessOptions {
  namespace?: string;
  watch?: boolean;
  output?: string;
  /** How often the Release is read while watching, in ms (tests shorten it). */
  pollMs?: number;
}

/** Where the view goes: whether it is a terminal (redraw in place, colours) and how large. */
export interface Screen {
  tty: boolean;
  color?: boolean;
  columns?: number;
  rows?: number;
}

type Out = (line: string) => void;

const ENDED = new Set(['Succeeded', 'Failed', 'Cancelled', 'RolledBack']);

/**
 * Draws successive views. On a terminal the next view first moves the cursor to the first line of the one
 * shown and clears to the end of the screen (CSI n F, CSI 0 J), so the view is redrawn in place; lines are
 * cut to the terminal's width and the view to its height, since a wrapped or scrolled line could not be
 * moved back over. Elsewhere each view is printed after a blank line.
 */
export class LiveView {
  private shown: string[] | undefined;

  constructor(private readonly out: Out, private readonly screen: Screen) {}

  /** False when the lines are those already shown. */
  show(lines: string[]): boolean {
    const visible = this.screen.tty && this.screen.rows ? lines.slice(0, Math.max(1, this.screen.rows - 1)) : lines;
    if (this.shown && this.shown.join('\n') === visible.join('\n')) return false;
    const erase = this.screen.tty && this.shown?.length ? `\x1b[${this.shown.length}F\x1b[0J` : '';
    if (!this.screen.tty && this.shown) this.out('');
    this.out(erase + visible.join('\n'));
    this.shown = visible;
    return true;
  }
}

export async function runStatus(name: string, options: StatusCommandOptions, out: Out, err: Out = out, screen: Screen = { tty: false }): Promise<number> {
  const format = outputFormat(options.output);
  const config = kubeConfigOf(options);
  const namespace = namespaceOf(options, config);
  const releases = new CustomResources(config, 'releases');
  const view = new LiveView(out, screen);
  let lastStatus: string | undefined;
  for (;;) {
    const release = (await releases.get(namespace, name)) as ReleaseView | undefined;
    if (!release) {
      err(`release ${namespace}/${name} not found`);
      return 1;
    }
    if (format === 'table') {
      view.show(renderProgressView(release, { color: screen.tty && screen.color !== false, ...(screen.tty && screen.columns ? { width: screen.columns } : {}) }));
    } else {
      const text = formatObject(release.status ?? {}, format);
      if (text !== lastStatus) out(lastStatus !== undefined && format === 'yaml' ? `---\n${text}` : text);
      lastStatus = text;
    }
    const phase = release.status?.phase;
    if (!options.watch) return 0;
    if (phase && ENDED.has(phase)) return phase === 'Succeeded' ? 0 : 1;
    await sleep(options.pollMs ?? 1000);
  }
}
