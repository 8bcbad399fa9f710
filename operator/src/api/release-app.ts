/** ReleaseApp: one application inside a Release, with its own version and deploy settings. */
import { Conditions, LocalObjectReference, ObjectName, TargetSelection } from './common.ts';
import { PATTERNS } from './patterns.ts';
import { exactlyOne, Obj, StringEnum, StringMap, Type, type Static } from './schema-helpers.ts';

export const RELEASE_APP_PHASES = ['Pending', 'Waiting', 'Deploying', 'Deployed', 'Failed', 'RolledBack', 'Uninstalled'] as const;
export const DEPLOYMENT_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'rolled_back'] as const;

const Artifact = Obj(
  {
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: PATTERNS.imageRepository.regex, description: 'Image repository, without tag; the tag is spec.version.' })),
    package: Type.Optional(Obj({
      url: Type.String({ minLength: 1, maxLength: 2048, pattern: PATTERNS.packageUrl.regex, description: 'Package URL; ${APP_VERSION} may appear in it.' }),
      sha256: Type.Optional(Type.String({ pattern: PATTERNS.sha256.regex, description: 'Checksum the agent verifies.' })),
    })),
    git: Type.Optional(Obj({
      repo: Type.String({ minLength: 1, maxLength: 2048, description: 'Clone URL or path; the ref is spec.version.' }),
    })),
  },
  { rules: [exactlyOne(['image', 'package', 'git'], 'exactly one of image, package, git must be set')] },
);

const Port = Obj({
  host: Type.Integer({ minimum: 1, maximum: 65535 }),
  container: Type.Integer({ minimum: 1, maximum: 65535 }),
  protocol: StringEnum(['tcp', 'udp'], { default: 'tcp' }),
});

const Volume = Obj({
  source: Type.String({ minLength: 1, maxLength: 4096, description: 'Host path or named volume.' }),
  target: Type.String({ minLength: 1, maxLength: 4096, pattern: PATTERNS.absolutePath.regex, description: 'Path inside the container.' }),
  readOnly: Type.Boolean({ default: false }),
});

const DockerSettings = Obj({
  containerName: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: PATTERNS.containerName.regex })),
  ports: Type.Optional(Type.Array(Port, { maxItems: 50 })),
  env: Type.Optional(StringMap({ maxProperties: 200 })),
  volumes: Type.Optional(Type.Array(Volume, { maxItems: 50 })),
  restartPolicy: StringEnum(['no', 'always', 'unless-stopped', 'on-failure'], { default: 'unless-stopped' }),
  network: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Docker network mode, e.g. host.' })),
  labels: Type.Optional(StringMap({ maxProperties: 50 })),
  command: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 })),
  healthCheck: Type.Optional(Obj({
    url: Type.Optional(Type.String({ maxLength: 2048, pattern: PATTERNS.httpUrl.regex })),
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  })),
  keepData: Type.Boolean({ default: true, description: 'On uninstall, keep volumes.' }),
  keepImages: Type.Integer({
    minimum: 2,
    maximum: 100,
    default: 10,
    description: "Images of this app the agent pulled that stay on the host; older ones are removed after each deploy. The running and the previous image (the rollback's) always stay.",
  }),
});

const ScriptTimeouts = Obj({
  install: Type.Integer({ minimum: 1, maximum: 86400, default: 600 }),
  update: Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
  rollback: Type.Integer({ minimum: 1, maximum: 86400, default: 180 }),
  uninstall: Type.Integer({ minimum: 1, maximum: 86400, default: 120 }),
});

const ScriptSettings = Obj(
  {
    interpreter: Type.String({ minLength: 1, maxLength: 256, default: '/bin/bash' }),
    workDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'May use ${APP_NAME}.' })),
    environment: Type.Optional(StringMap({ maxProperties: 200 })),
    install: Type.Optional(Type.String({ minLength: 1, maxLength: 262144, description: 'Runs when the app is not installed on the target.' })),
    update: Type.Optional(Type.String({ minLength: 1, maxLength: 262144, description: 'Runs when the app is installed.' })),
    rollback: Type.Optional(Type.String({ minLength: 1, maxLength: 262144 })),
    uninstall: Type.Optional(Type.String({ minLength: 1, maxLength: 262144 })),
    timeouts: Type.Optional(ScriptTimeouts),
    keepData: Type.Boolean({ default: true, description: 'Reaches the scripts as KEEP_DATA: whether an uninstall keeps the app\'s data.' }),
  },
  { rules: [{ rule: 'has(self.install) || has(self.update)', message: 'script settings need an install or an update script' }] },
);

const GitPullSettings = Obj({
  workDir: Type.String({ minLength: 1, maxLength: 4096, description: 'Checkout directory on the host.' }),
  build: Type.Optional(Type.String({ minLength: 1, maxLength: 65536, description: 'Build command, run after checkout.' })),
  restart: Type.Optional(Type.String({ minLength: 1, maxLength: 65536, description: 'Restart command, run after build.' })),
  keepData: Type.Boolean({ default: false, description: 'On uninstall, keep the checkout (KEEP_DATA); by default it is removed.' }),
});

const Dependency = Obj({
  app: Type.String({ minLength: 1, maxLength: 253 }),
  required: Type.Boolean({ default: true }),
  waitReady: Type.Boolean({ default: true }),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
});

export const ReleaseAppSpec = Obj(
  {
    release: ObjectName('The parent Release, in the same namespace.'),
    app: Type.String({ minLength: 1, maxLength: 253, pattern: PATTERNS.appName.regex }),
    version: Type.String({ minLength: 1, maxLength: 128, pattern: PATTERNS.versionRef.regex, description: 'Image tag, artifact version or git ref.' }),
    artifact: Artifact,
    docker: Type.Optional(DockerSettings),
    script: Type.Optional(ScriptSettings),
    gitpull: Type.Optional(GitPullSettings),
    pipelineRef: Type.Optional(LocalObjectReference),
    targets: Type.Optional(TargetSelection),
    dependsOn: Type.Optional(Type.Array(Dependency, { maxItems: 50, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['app'] })),
  },
  {
    rules: [
      { rule: '!has(self.dependsOn) || self.dependsOn.all(d, d.app != self.app)', message: 'an app cannot depend on itself', fieldPath: '.dependsOn' },
      { rule: '!has(self.gitpull) || has(self.artifact.git)', message: 'gitpull settings need artifact.git', fieldPath: '.artifact.git', reason: 'FieldValueRequired' },
      { rule: '!has(self.docker) || has(self.artifact.image)', message: 'docker settings need artifact.image', fieldPath: '.artifact.image', reason: 'FieldValueRequired' },
    ],
  },
);
export type ReleaseAppSpec = Static<typeof ReleaseAppSpec>;

const EnvironmentVersion = Obj({
  environment: Type.String({ maxLength: 63 }),
  version: Type.String({ maxLength: 128 }),
  status: StringEnum(DEPLOYMENT_STATUSES),
  deployedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

const RecentDeployment = Obj({
  id: Type.String({ maxLength: 64 }),
  version: Type.String({ maxLength: 128 }),
  environment: Type.String({ maxLength: 63 }),
  status: StringEnum(DEPLOYMENT_STATUSES),
  superseded: Type.Boolean(),
  startedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export const ReleaseAppStatus = Obj({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  phase: Type.Optional(StringEnum(RELEASE_APP_PHASES)),
  waitingFor: Type.Optional(Type.String({ maxLength: 1024, description: 'Why the app waits (a dependency, the release).' })),
  versions: Type.Optional(Type.Array(EnvironmentVersion, { maxItems: 10, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['environment'] })),
  version: Type.Optional(Type.String({ maxLength: 128, description: 'The version in effect: what the release deploys of this app (spec.version, or the version a switch moved it to).' })),
  specVersion: Type.Optional(Type.String({ maxLength: 128, description: 'The spec.version last taken into account; differs from spec.version while a change waits for the release to be Waiting.' })),
  newTag: Type.Optional(Obj({
    tag: Type.String({ maxLength: 128 }),
    build: Type.Optional(Type.String({ maxLength: 64 })),
    detectedAt: Type.String({ format: 'date-time' }),
  }, { description: 'The tag CI reported last (annotations shipway.dev/new-tag and shipway.dev/build).' })),
  hasNewTag: Type.Optional(Type.Boolean({ description: 'A new tag other than the version in effect is waiting to be switched to.' })),
  deployments: Type.Optional(Type.Array(RecentDeployment, { maxItems: 20 })),
  lastAction: Type.Optional(Obj({
    action: Type.String({ maxLength: 32 }),
    actor: Type.Optional(Type.String({ maxLength: 253 })),
    result: StringEnum(['Applied', 'Rejected']),
    message: Type.Optional(Type.String({ maxLength: 4096 })),
    at: Type.String({ format: 'date-time' }),
  })),
  conditions: Type.Optional(Conditions),
});
export type ReleaseAppStatus = Static<typeof ReleaseAppStatus>;


