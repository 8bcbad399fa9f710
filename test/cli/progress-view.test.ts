import { describe, expect, it } from 'vitest';
import type { EnvironmentRun, ReleaseStatus, TargetRun } from '../../operator/src/api/release.ts';
import { parseProgress, progressBar, renderProgressView, targetFraction, type ReleaseView } from '../../operator/src/cli/progress-view.ts';

const meta = { name: 'shop-1-1-0', namespace: 'shop' };
const spec = { version: '1.1.0', environments: [{ name: 'pre' }, { name: 'prod' }] };
const done = (name: string): TargetRun => ({ name, phase: 'Succeeded', version: '1.1.0', previousVersion: '1.0.0', currentStep: 'done' });
const pre: EnvironmentRun = { name: 'pre', phase: 'Succeeded', currentStep: 'batch-1 (1/1)', targets: [done('web-pre')] };
const release = (status: ReleaseStatus): ReleaseView => ({ metadata: meta, spec, status });
const stripAnsi = (s: string) => s.replace(/\x1b\[\d+m/g, ''); // eslint-disable-line no-control-regex -- removing the SGR codes the view writes

describe('the progress view', () => {
  it('shows a release the operator has not picked up yet with the environments of its spec', () => {
    expect(renderProgressView({ metadata: meta, spec })).toEqual([
      'Release shop/shop-1-1-0  1.1.0  · Pending',
      '  not picked up by the operator yet',
      '',
      '  · pre   Pending',
      '      no target started yet',
      '',
      '  · prod  Pending',
      '      no target started yet',
    ]);
  });

  it('shows a canary waiting for promotion: header, one block per environment, one row per target', () => {
    const view = renderProgressView(
      release({
        phase: 'Verifying',
        currentEnvironment: 'prod',
        version: '1.1.0',
        progress: '2/4',
        message: 'environment prod waits for a promote action to continue after canary',
        environments: [
          pre,
          { name: 'prod', phase: 'Verifying', currentStep: 'canary (1/2)', stepState: 'Promote', waitingFor: 'a promote action to continue after canary', targets: [done('web-prod')] },
        ],
      }),
    );
    expect(view).toEqual([
      'Release shop/shop-1-1-0  1.1.0  ◐ Verifying  in prod  2/4 targets █████░░░░░',
      '',
      '  ✔ pre   Succeeded',
      '      ✔ web-pre   Succeeded  1.0.0 → 1.1.0  ██████████  done',
      '',
      '  ◐ prod  Verifying  step canary (1/2) · waiting for a promote action to continue after canary',
      '      ✔ web-prod  Succeeded  1.0.0 → 1.1.0  ██████████  done',
    ]);
  });

  it('aligns target rows across environments and shows running, failed and pending targets with their step and error', () => {
    const view = renderProgressView(
      release({
        phase: 'Deploying',
        currentEnvironment: 'prod',
        progress: '2/4',
        environments: [
          pre,
          {
            name: 'prod',
            phase: 'Deploying',
            currentStep: 'full (2/2)',
            targets: [
              done('web-prod'),
              { name: 'web-prod-2', phase: 'Running', version: '1.1.0', previousVersion: '1.0.0', currentStep: 'verify/wait-settle', stages: [{ name: 'release', phase: 'release', status: 'succeeded' }, { name: 'verify', phase: 'post_release', status: 'running' }] },
              { name: 'web-prod-3', phase: 'Failed', version: '1.1.0', previousVersion: '1.0.0', error: 'stage release: task deploy: ProgressDeadlineExceeded', stages: [{ name: 'release', phase: 'release', status: 'failed' }] },
              { name: 'web-prod-4', phase: 'Pending' },
            ],
          },
        ],
      }),
    );
    expect(view.slice(5)).toEqual([
      '  ▶ prod  Deploying  step full (2/2)',
      '      ✔ web-prod    Succeeded  1.0.0 → 1.1.0  ██████████  done',
      '      ▶ web-prod-2  Running    1.0.0 → 1.1.0  █████░░░░░  verify/wait-settle',
      '      ✖ web-prod-3  Failed     1.0.0 → 1.1.0  ████████░░',
      '          stage release: task deploy: ProgressDeadlineExceeded',
      '      · web-prod-4  Pending    → 1.1.0        ░░░░░░░░░░',
    ]);
  });

  it.each([
    {
      name: 'a finished release says so and names no current environment',
      status: { phase: 'Succeeded', currentEnvironment: 'prod', progress: '4/4', message: 'all 2 environment(s) succeeded' } as ReleaseStatus,
      lines: ['Release shop/shop-1-1-0  1.1.0  ✔ Succeeded  4/4 targets ██████████', '  all 2 environment(s) succeeded'],
    },
    {
      name: 'a failed release shows why',
      status: { phase: 'Failed', progress: '1/4', message: 'approval of environment prod was rejected' } as ReleaseStatus,
      lines: ['Release shop/shop-1-1-0  1.1.0  ✖ Failed  1/4 targets ███░░░░░░░', '  approval of environment prod was rejected'],
    },
    {
      name: 'a status without progress shows no bar',
      status: { phase: 'Scheduled', message: 'scheduled for 2030-01-01T00:00:00Z' } as ReleaseStatus,
      lines: ['Release shop/shop-1-1-0  1.1.0  ◷ Scheduled', '  scheduled for 2030-01-01T00:00:00Z'],
    },
  ])('header: $name', ({ status, lines }) => {
    expect(renderProgressView(release({ ...status, environments: [] }))).toEqual(lines);
  });

  it.each([
    { name: 'waiting to be promoted', env: { name: 'prod', phase: 'Waiting', waitingFor: 'a promote action (promotion: manual)' }, line: '  … prod  Waiting  waiting for a promote action (promotion: manual)' },
    { name: 'waiting for an approver', env: { name: 'prod', phase: 'Approving', waitingFor: 'approval by alice' }, line: '  ? prod  Approving  waiting for approval by alice' },
    { name: 'failed, with the reason and without the step', env: { name: 'prod', phase: 'Failed', currentStep: 'canary (1/2)', waitingFor: 'web-prod: verification failed' }, line: '  ✖ prod  Failed  web-prod: verification failed' },
    { name: 'verifying once the window has passed', env: { name: 'prod', phase: 'Verifying', waitingFor: 'verifying web-prod' }, line: '  ◐ prod  Verifying  verifying web-prod' },
    { name: 'rolled back', env: { name: 'prod', phase: 'RolledBack' }, line: '  ↺ prod  RolledBack' },
  ] as { name: string; env: EnvironmentRun; line: string }[])('environment line: $name', ({ env, line }) => {
    expect(renderProgressView(release({ phase: 'Waiting', environments: [env] }))[2]).toBe(line);
  });

  it.each([
    { name: 'previous and new version', run: { previousVersion: '1.0.0', version: '1.1.0' }, versions: '1.0.0 → 1.1.0' },
    { name: 'a first install has no previous version', run: { version: '1.1.0' }, versions: '→ 1.1.0' },
    { name: 'already at the version', run: { previousVersion: '1.1.0', version: '1.1.0' }, versions: '1.1.0' },
    { name: 'not started: the release version', run: {}, versions: '→ 1.1.0' },
  ])('target versions: $name', ({ run, versions }) => {
    const view = renderProgressView(release({ phase: 'Deploying', environments: [{ name: 'pre', phase: 'Deploying', targets: [{ name: 'web', phase: 'Pending', ...run }] }] }));
    expect(view[3]).toBe(`      · web  Pending  ${versions}  ░░░░░░░░░░`);
  });

  it('colours only when asked, and the coloured view reads the same without its codes', () => {
    const r = release({ phase: 'Verifying', currentEnvironment: 'prod', progress: '2/4', environments: [pre, { name: 'prod', phase: 'Verifying', waitingFor: 'verifying web-prod', targets: [done('web-prod')] }] });
    const plain = renderProgressView(r);
    const coloured = renderProgressView(r, { color: true });
    expect(plain.join('\n')).not.toContain('\x1b[');
    expect(coloured.join('\n')).toContain('\x1b[32m✔ \x1b[39m');
    expect(coloured.map(stripAnsi)).toEqual(plain);
  });

  it('cuts lines to the width on their visible text, so a redrawn view never wraps', () => {
    const r = release({ phase: 'Verifying', currentEnvironment: 'prod', progress: '2/4', environments: [pre, { name: 'prod', phase: 'Verifying', waitingFor: 'a promote action to continue after canary', targets: [done('web-prod')] }] });
    for (const color of [false, true]) {
      const view = renderProgressView(r, { width: 40, color }).map(stripAnsi);
      expect(Math.max(...view.map((l) => [...l].length))).toBeLessThanOrEqual(40);
      expect(view[0]).toBe('Release shop/shop-1-1-0  1.1.0  ◐ Verif…');
    }
  });
});

describe('target progress', () => {
  it.each([
    { phase: 'Pending', stages: [], fraction: 0 },
    { phase: 'Running', stages: [], fraction: 0.1 },
    { phase: 'Running', stages: ['running'], fraction: 0.1 },
    { phase: 'Running', stages: ['succeeded', 'running'], fraction: 0.45 },
    { phase: 'Running', stages: ['succeeded', 'skipped'], fraction: 0.8 },
    { phase: 'Verifying', stages: ['succeeded'], fraction: 0.9 },
    { phase: 'Succeeded', stages: ['succeeded'], fraction: 1 },
    { phase: 'Skipped', stages: [], fraction: 1 },
    { phase: 'RollingBack', stages: ['failed'], fraction: 0.8 },
    { phase: 'RolledBack', stages: ['succeeded'], fraction: 0 },
    { phase: 'Cancelled', stages: ['running'], fraction: 0 },
  ] as { phase: TargetRun['phase']; stages: string[]; fraction: number }[])('$phase with stages $stages is $fraction', ({ phase, stages, fraction }) => {
    expect(targetFraction({ phase, stages: stages.map((status, i) => ({ name: `s${i}`, phase: 'release', status })) })).toBeCloseTo(fraction);
  });

  it.each([
    { fraction: 0, bar: '░░░░░░░░░░' },
    { fraction: 0.04, bar: '░░░░░░░░░░' },
    { fraction: 0.5, bar: '█████░░░░░' },
    { fraction: 1, bar: '██████████' },
    { fraction: 1.5, bar: '██████████' },
    { fraction: -1, bar: '░░░░░░░░░░' },
  ])('a bar for $fraction is $bar', ({ fraction, bar }) => {
    expect(progressBar(fraction)).toBe(bar);
  });

  it.each([
    { text: '3/4', parsed: { done: 3, total: 4 } },
    { text: '0/0', parsed: { done: 0, total: 0 } },
    { text: 'three', parsed: undefined },
    { text: undefined, parsed: undefined },
  ])('progress "$text" reads as $parsed', ({ text, parsed }) => {
    expect(parseProgress(text)).toEqual(parsed);
  });
});
