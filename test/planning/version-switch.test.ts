/** The version switch guard, table-style: which requests switch, which are refused and why, which change nothing. */
import { describe, expect, it } from 'vitest';
import { planVersionSwitch, type VersionSwitchInput, type VersionSwitchPlan } from '../../operator/src/planning/version-switch.ts';

const base: VersionSwitchInput = {
  release: 'r', releasePhase: 'Waiting', effectiveVersion: '1.0.0', specVersion: '1.0.0', acceptedSpecVersion: '1.0.0', runningDeployments: 0,
};

describe('planVersionSwitch', () => {
  it.each<[string, Partial<VersionSwitchInput>, VersionSwitchPlan]>([
    ['nothing asked', {}, { kind: 'none' }],
    ['a new tag alone switches nothing', { newTag: '1.1.0' }, { kind: 'none' }],
    ['action while Waiting switches to the new tag', { newTag: '1.1.0', action: {} }, { kind: 'switch', source: 'action', from: '1.0.0', to: '1.1.0' }],
    ['action naming a version wins over the new tag', { newTag: '1.1.0', action: { version: '1.2.0' } }, { kind: 'switch', source: 'action', from: '1.0.0', to: '1.2.0' }],
    ['repeated action: already there', { newTag: '1.1.0', effectiveVersion: '1.1.0', action: {} }, { kind: 'unchanged', source: 'action', to: '1.1.0' }],
    ['action without a version or new tag', { action: {} }, { kind: 'refuse', source: 'action', reason: expect.stringContaining('no version to switch to') }],
    ['action with a malformed version', { action: { version: 'a b' } }, { kind: 'refuse', source: 'action', reason: expect.stringContaining('shipway.dev/version: Invalid value: "a b"') }],
    ['action while Deploying is refused naming the phase', { releasePhase: 'Deploying', newTag: '1.1.0', action: {} }, { kind: 'refuse', source: 'action', to: '1.1.0', reason: 'release r is Deploying: the version can only be switched while the release is Waiting (before an environment starts)' }],
    ['action while Approving is refused', { releasePhase: 'Approving', newTag: '1.1.0', action: {} }, { kind: 'refuse', source: 'action', to: '1.1.0', reason: expect.stringContaining('is Approving') }],
    ['action before the release has a status is refused', { releasePhase: undefined, newTag: '1.1.0', action: {} }, { kind: 'refuse', source: 'action', to: '1.1.0', reason: expect.stringContaining('not started') }],
    ['action with a deployment running is refused', { newTag: '1.1.0', action: {}, runningDeployments: 2 }, { kind: 'refuse', source: 'action', to: '1.1.0', reason: 'the app has 2 deployment(s) running' }],
    ['spec.version changed while Waiting switches', { specVersion: '2.0.0' }, { kind: 'switch', source: 'spec', from: '1.0.0', to: '2.0.0' }],
    ['spec.version changed while Deploying waits', { specVersion: '2.0.0', releasePhase: 'Deploying' }, { kind: 'refuse', source: 'spec', to: '2.0.0', reason: expect.stringContaining('is Deploying') }],
    ['spec.version back to the version in effect', { specVersion: '1.0.0', acceptedSpecVersion: '2.0.0' }, { kind: 'unchanged', source: 'spec', to: '1.0.0' }],
    ['spec.version kept after a switch by action', { effectiveVersion: '1.1.0' }, { kind: 'none' }],
    ['first pass: the version in effect counts as accepted', { acceptedSpecVersion: undefined }, { kind: 'none' }],
    ['first pass with a spec changed before it', { acceptedSpecVersion: undefined, specVersion: '1.0.1' }, { kind: 'switch', source: 'spec', from: '1.0.0', to: '1.0.1' }],
  ])('%s', (_, input, expected) => {
    expect(planVersionSwitch({ ...base, ...input })).toEqual(expected);
  });
});
