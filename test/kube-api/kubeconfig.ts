/**
 * A kubeconfig for the emulator that kubectl, helm and @kubernetes/client-node all load.
 *
 * - HTTPS with `caCertPem`: the CA goes in as `certificate-authority-data`.
 * - Plain `http://` servers: client-node refuses them unless the cluster says `insecure-skip-tls-verify: true`,
 *   so that is set (and no CA: kubectl rejects a CA together with insecure-skip-tls-verify).
 * - Users: a bearer `token`, a client certificate (`clientCertPem` + `clientKeyPem`), or both.
 */
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  caCertPem?: string;
  insecureSkipTlsVerify?: boolean;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  contextName?: string;
  namespace?: string;
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function renderKubeconfig(options: KubeconfigOptions): string {
  const url = new URL(options.server);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`renderKubeconfig: unsupported server URL ${options.server}`);
  if ((options.clientCertPem === undefined) !== (options.clientKeyPem === undefined)) {
    throw new Error('renderKubeconfig: clientCertPem and clientKeyPem go together');
  }
  const plainHttp = url.protocol === 'http:';
  if (options.insecureSkipTlsVerify && options.caCertPem !== undefined && !plainHttp) {
    throw new Error('renderKubeconfig: a CA and insecureSkipTlsVerify exclude each other (kubectl refuses the combination)');
  }
  const name = options.contextName ?? 'kube-api-emulator';

  const cluster: Record<string, unknown> = { server: options.server.replace(/\/+$/, '') };
  if (plainHttp || options.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  else if (options.caCertPem !== undefined) cluster['certificate-authority-data'] = base64(options.caCertPem);

  const user: Record<string, unknown> = {};
  if (options.token !== undefined) user.token = options.token;
  if (options.clientCertPem !== undefined && options.clientKeyPem !== undefined) {
    user['client-certificate-data'] = base64(options.clientCertPem);
    user['client-key-data'] = base64(options.clientKeyPem);
  }

  const context: Record<string, unknown> = { cluster: name, user: name };
  if (options.namespace !== undefined) context.namespace = options.namespace;

  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context }],
    'current-context': name,
  });
}
