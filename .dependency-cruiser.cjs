/**
 * Import rules: the layers of SPEC §1 and the guide's "Architecture habits".
 * Pure modules (API types and schemas, validation, planners) may not reach I/O: no Node I/O built-ins,
 * no database or Kubernetes clients, and none of the modules that do I/O.
 */
const PURE = '^operator/src/(api|validation|planning)/';
const IO_MODULES = '^(fs|fs/promises|net|tls|dgram|http|https|http2|child_process|cluster|worker_threads|dns|readline|os)$';
const IO_PACKAGES = '^node_modules/(pg|@electric-sql/pglite|drizzle-orm|@kubernetes/client-node|@dot-i/k8s-operator|@matrixai/quic|execa|simple-git|dockerode|nodemailer)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'pure-no-node-io',
      comment: 'API types, validation and planners are pure: they take data and return data.',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['core'], path: IO_MODULES },
    },
    {
      name: 'pure-no-io-packages',
      severity: 'error',
      from: { path: PURE },
      to: { path: IO_PACKAGES },
    },
    {
      name: 'pure-no-io-layers',
      comment: 'Pure modules do not import storage, controllers, runtime helpers, senders, the engine, executors, the Kubernetes driver or the CLI.',
      severity: 'error',
      from: { path: PURE },
      to: { path: '^operator/src/(storage|controllers|runtime|cli|server|notifications|engine|tasks|kubernetes)/' },
    },
    {
      name: 'runtime-not-controllers',
      comment: 'Controllers use runtime helpers, never the reverse.',
      severity: 'error',
      from: { path: '^operator/src/runtime/' },
      to: { path: '^operator/src/controllers/' },
    },
    {
      name: 'storage-not-upward',
      severity: 'error',
      from: { path: '^operator/src/storage/' },
      to: { path: '^operator/src/(controllers|cli|server)/' },
    },
    {
      name: 'no-test-code-in-product',
      severity: 'error',
      from: { path: '^(operator|agent)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
