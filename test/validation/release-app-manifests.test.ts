import { describe, expect, it } from 'vitest';
import { dockerReleaseApp, gitReleaseApp, mutate, REMOVE, scriptReleaseApp, valueAt, type Manifest } from '../fixtures/manifests.ts';
import { expectSingleIssue, validateChanged, validator, type InvalidCase } from './invalid-case.ts';

describe('valid ReleaseApp manifests', () => {
  it.each<[string, Manifest]>([
    ['a Docker image with run settings and a dependency', dockerReleaseApp],
    ['a package installed by scripts', scriptReleaseApp],
    ['a git checkout built on the host', gitReleaseApp],
  ])('accepts %s', (_name, manifest) => {
    const result = validator.validate(manifest);
    expect(result.issues).toEqual([]);
    expect(result).toMatchObject({ foreign: false, kind: 'ReleaseApp', name: manifest.metadata.name });
  });

  it.each<[string, unknown]>([
    ['spec.script.timeouts.install', 600],
    ['spec.script.timeouts.update', 300],
    ['spec.script.timeouts.rollback', 180],
    ['spec.script.timeouts.uninstall', 120],
    ['spec.script.interpreter', '/bin/bash'],
  ])('defaults the script setting %s to %j', (path, expected) => {
    expect(valueAt(validator.validate(scriptReleaseApp).object, path)).toEqual(expected);
  });

  it.each<[string, unknown]>([
    ['spec.docker.restartPolicy', 'unless-stopped'],
    ['spec.docker.keepData', true],
    ['spec.docker.ports[0].protocol', 'tcp'],
    ['spec.docker.volumes[0].readOnly', false],
    ['spec.docker.healthCheck.timeoutSeconds', 60],
    ['spec.dependsOn[0].required', true],
    ['spec.dependsOn[0].waitReady', true],
    ['spec.dependsOn[0].timeoutSeconds', 300],
  ])('defaults the docker setting %s to %j', (path, expected) => {
    expect(valueAt(validator.validate(dockerReleaseApp).object, path)).toEqual(expected);
  });

  it('keeps script timeouts that are set', () => {
    const changed = mutate(scriptReleaseApp, { 'spec.script.timeouts': { install: 1200 } });
    const object = validator.validate(changed).object;
    expect(valueAt(object, 'spec.script.timeouts')).toEqual({ install: 1200, update: 300, rollback: 180, uninstall: 120 });
  });

  it.each([
    ['an image from a registry without a port', { 'spec.artifact.image': 'ghcr.io/acme/web' }],
    ['a git ref as version', { 'spec.version': 'release_2024.06' }],
    ['a package without a checksum', { 'spec.artifact.package.sha256': REMOVE }],
    ['a script with only an update script', { 'spec.script.install': REMOVE }],
    ['a dependency that is optional', { 'spec.dependsOn[0]': { app: 'api', required: false, timeoutSeconds: 30 } }],
  ])('accepts %s', (_name, changes) => {
    const base = 'spec.artifact.package.sha256' in changes || 'spec.script.install' in changes ? scriptReleaseApp : dockerReleaseApp;
    expect(validator.validate(mutate(base, changes)).issues).toEqual([]);
  });
});

const cases: InvalidCase[] = [
  // Enums
  { name: 'an unknown restart policy', base: dockerReleaseApp, changes: { 'spec.docker.restartPolicy': 'never' }, path: 'spec.docker.restartPolicy', reason: 'Unsupported value: "never": supported values: "no", "always", "unless-stopped", "on-failure"' },
  { name: 'an unknown port protocol', base: dockerReleaseApp, changes: { 'spec.docker.ports[0].protocol': 'sctp' }, path: 'spec.docker.ports[0].protocol', reason: 'Unsupported value: "sctp": supported values: "tcp", "udp"' },
  { name: 'an unknown status phase', base: dockerReleaseApp, changes: { status: { phase: 'Running' } }, path: 'status.phase', reason: 'Unsupported value: "Running"' },
  // Required fields
  { name: 'no artifact', base: dockerReleaseApp, changes: { 'spec.artifact': REMOVE, 'spec.docker': REMOVE }, path: 'spec.artifact', reason: 'Required value' },
  { name: 'no release', base: dockerReleaseApp, changes: { 'spec.release': REMOVE }, path: 'spec.release', reason: 'Required value' },
  { name: 'no version', base: dockerReleaseApp, changes: { 'spec.version': REMOVE }, path: 'spec.version', reason: 'Required value' },
  { name: 'a package without a URL', base: scriptReleaseApp, changes: { 'spec.artifact.package.url': REMOVE }, path: 'spec.artifact.package.url', reason: 'Required value' },
  { name: 'git-pull settings without a work directory', base: gitReleaseApp, changes: { 'spec.gitpull.workDir': REMOVE }, path: 'spec.gitpull.workDir', reason: 'Required value' },
  { name: 'a dependency without an app', base: dockerReleaseApp, changes: { 'spec.dependsOn[0]': { required: false } }, path: 'spec.dependsOn[0].app', reason: 'Required value' },
  // Types
  { name: 'a port given as a string', base: dockerReleaseApp, changes: { 'spec.docker.ports[0].host': '8080' }, path: 'spec.docker.ports[0].host', reason: 'Invalid value: "8080": must be an integer' },
  { name: 'a version given as a number', base: dockerReleaseApp, changes: { 'spec.version': 1.4 }, path: 'spec.version', reason: 'Invalid value: 1.4: must be of type string' },
  { name: 'a command given as one string', base: dockerReleaseApp, changes: { 'spec.docker.command': 'node server.js' }, path: 'spec.docker.command', reason: 'must be of type array' },
  { name: 'an environment value that is a number', base: dockerReleaseApp, changes: { 'spec.docker.env.PORT': 8080 }, path: 'spec.docker.env.PORT', reason: 'Invalid value: 8080: must be of type string' },
  // Patterns
  { name: 'an app name with capitals', base: dockerReleaseApp, changes: { 'spec.app': 'Web' }, path: 'spec.app', reason: 'Invalid value: "Web"' },
  { name: 'a version starting with a dash', base: dockerReleaseApp, changes: { 'spec.version': '-1.4.2' }, path: 'spec.version', reason: 'Invalid value: "-1.4.2"' },
  { name: 'a release name that is not an object name', base: dockerReleaseApp, changes: { 'spec.release': 'Shop 1.4.2' }, path: 'spec.release', reason: 'must be a lowercase RFC 1123 subdomain' },
  { name: 'an image with a tag', base: dockerReleaseApp, changes: { 'spec.artifact.image': 'shop/web:1.4.2' }, path: 'spec.artifact.image', reason: 'Invalid value: "shop/web:1.4.2"' },
  { name: 'an uppercase checksum', base: scriptReleaseApp, changes: { 'spec.artifact.package.sha256': 'A'.repeat(64) }, path: 'spec.artifact.package.sha256', reason: 'must be a SHA-256 digest in lowercase hex (64 characters)' },
  { name: 'a package URL over ftp', base: scriptReleaseApp, changes: { 'spec.artifact.package.url': 'ftp://downloads.example.com/worker.tgz' }, path: 'spec.artifact.package.url', reason: 'Invalid value: "ftp://downloads.example.com/worker.tgz"' },
  { name: 'a relative volume target', base: dockerReleaseApp, changes: { 'spec.docker.volumes[0].target': 'data' }, path: 'spec.docker.volumes[0].target', reason: 'must be an absolute path' },
  { name: 'a container health URL without a scheme', base: dockerReleaseApp, changes: { 'spec.docker.healthCheck.url': 'localhost:8080' }, path: 'spec.docker.healthCheck.url', reason: 'must be an http:// or https:// URL' },
  { name: 'a container name starting with a dash', base: dockerReleaseApp, changes: { 'spec.docker.containerName': '-web' }, path: 'spec.docker.containerName', reason: 'Invalid value: "-web"' },
  // Minimum and maximum
  { name: 'a host port above 65535', base: dockerReleaseApp, changes: { 'spec.docker.ports[0].host': 70000 }, path: 'spec.docker.ports[0].host', reason: 'Invalid value: 70000: must be <= 65535' },
  { name: 'a container port of 0', base: dockerReleaseApp, changes: { 'spec.docker.ports[0].container': 0 }, path: 'spec.docker.ports[0].container', reason: 'Invalid value: 0: must be >= 1' },
  { name: 'an install timeout of 0', base: scriptReleaseApp, changes: { 'spec.script.timeouts.install': 0 }, path: 'spec.script.timeouts.install', reason: 'must be >= 1' },
  { name: 'a dependency timeout above a day', base: dockerReleaseApp, changes: { 'spec.dependsOn[0].timeoutSeconds': 86401 }, path: 'spec.dependsOn[0].timeoutSeconds', reason: 'must be <= 86400' },
  { name: 'an empty version', base: dockerReleaseApp, changes: { 'spec.version': '' }, path: 'spec.version', reason: 'must be at least 1 characters long', alsoAt: ['spec.version'] },
  // Unknown fields
  { name: 'an image in the docker settings', base: dockerReleaseApp, changes: { 'spec.docker.image': 'shop/web' }, path: 'spec.docker.image', reason: 'unknown field "spec.docker.image"' },
  { name: 'a tag in the artifact', base: dockerReleaseApp, changes: { 'spec.artifact.tag': '1.4.2' }, path: 'spec.artifact.tag', reason: 'unknown field "spec.artifact.tag"' },
  // CEL rules
  { name: 'an artifact that is both an image and a git repository', base: dockerReleaseApp, changes: { 'spec.artifact.git': { repo: 'https://git.example.com/web.git' } }, path: 'spec.artifact', reason: 'Invalid value: exactly one of image, package, git must be set', source: 'rule' },
  { name: 'an empty artifact', base: gitReleaseApp, changes: { 'spec.artifact': {}, 'spec.gitpull': REMOVE }, path: 'spec.artifact', reason: 'exactly one of image, package, git must be set', source: 'rule' },
  { name: 'script settings without install or update', base: scriptReleaseApp, changes: { 'spec.script': { uninstall: './uninstall.sh' } }, path: 'spec.script', reason: 'script settings need an install or an update script', source: 'rule' },
  { name: 'an app depending on itself', base: dockerReleaseApp, changes: { 'spec.dependsOn': [{ app: 'api' }, { app: 'web' }] }, path: 'spec.dependsOn', reason: 'an app cannot depend on itself', source: 'rule' },
  { name: 'git-pull settings for an image', base: dockerReleaseApp, changes: { 'spec.gitpull': { workDir: '/srv/web' } }, path: 'spec.artifact.git', reason: 'gitpull settings need artifact.git', source: 'rule' },
  { name: 'docker settings for a package', base: scriptReleaseApp, changes: { 'spec.docker': {} }, path: 'spec.artifact.image', reason: 'docker settings need artifact.image', source: 'rule' },
  { name: 'a target override by both names and selector', base: scriptReleaseApp, changes: { 'spec.targets.selector': { matchLabels: { role: 'worker' } } }, path: 'spec.targets', reason: 'exactly one of names, selector must be set', source: 'rule' },
  // List-map uniqueness
  { name: 'two dependencies on one app', base: dockerReleaseApp, changes: { 'spec.dependsOn[1]': { app: 'api', required: false } }, path: 'spec.dependsOn[1].app', reason: 'Duplicate value: {"app":"api"}', source: 'schema' },
  { name: 'two status versions for one environment', base: dockerReleaseApp, changes: { status: { versions: [{ environment: 'pre', version: '1', status: 'succeeded' }, { environment: 'pre', version: '2', status: 'failed' }] } }, path: 'status.versions[1].environment', reason: 'Duplicate value: {"environment":"pre"}', source: 'schema' },
];

describe('invalid ReleaseApp manifests', () => {
  it('covers at least 12 rules', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('rejects $name at $path', (c) => {
    expectSingleIssue(validateChanged(c), c);
  });
});
