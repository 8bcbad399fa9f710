/**
 * Regenerates `protobuf-schema.ts`: the field tables of the Kubernetes protobuf messages of the kinds the
 * emulator serves, so it can decode `application/vnd.kubernetes.protobuf` request bodies (kubectl >= 1.32 and
 * helm send them from their typed clients).
 *
 * The tables come from the `k8s.io/api` / `k8s.io/apimachinery` file descriptors that every client-go binary
 * registers (gzipped FileDescriptorProtos); this reads them out of the given kubectl binaries (default: every
 * `kubectl.1.*` next to the kubectl on PATH) and merges them (field numbers never change between versions).
 *
 *   npx tsx test/kube-api/gen-protobuf-schema.ts [kubectl-binary ...]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readMessage, type WireField } from './protobuf.ts';

/** Kinds whose protobuf the emulator decodes, with everything they reach. */
const ROOTS = [
  ...['Namespace', 'ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'Endpoints', 'Pod', 'PersistentVolumeClaim', 'Event'].map((k) => `api.core.v1.${k}`),
  ...['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ControllerRevision'].map((k) => `api.apps.v1.${k}`),
  'api.batch.v1.Job',
  'api.batch.v1.CronJob',
  'api.coordination.v1.Lease',
  'api.events.v1.Event',
  ...['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].map((k) => `api.rbac.v1.${k}`),
  'api.autoscaling.v1.Scale',
  'api.core.v1.Node',
  'api.authorization.v1.SelfSubjectAccessReview',
  'api.authorization.v1.SubjectAccessReview',
  'api.authentication.v1.TokenReview',
  'apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'apimachinery.pkg.runtime.Unknown',
];

const TYPE_CODES: Record<number, string> = { 1: 'd', 2: 'd', 3: 'i', 4: 'i', 5: 'i', 8: 'b', 9: 's', 12: 'y', 13: 'i', 14: 'i', 17: 'i', 18: 'i' };

interface Field {
  name: string;
  number: number;
  repeated: boolean;
  type: number;
  typeName: string;
}

const text = (f: WireField | undefined) => (f ? Buffer.from(f.bytes!).toString('utf8') : '');

function binaries(): string[] {
  if (process.argv.length > 2) return process.argv.slice(2);
  const kubectl = realpathSync(execFileSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim());
  const dir = dirname(kubectl);
  return readdirSync(dir).filter((f) => /^kubectl\.1\.\d+$/.test(f)).map((f) => join(dir, f));
}

const messages = new Map<string, Field[]>();

function addMessage(bytes: Uint8Array, prefix: string): void {
  const fields = readMessage(bytes);
  const name = `${prefix}.${text(fields.find((f) => f.number === 1))}`;
  const list = messages.get(name) ?? [];
  for (const f of fields) {
    if (f.number === 2) {
      const ff = readMessage(f.bytes!);
      const get = (n: number) => ff.find((x) => x.number === n);
      const field: Field = { name: text(get(1)), number: Number(get(3)!.value), repeated: Number(get(4)!.value) === 3, type: Number(get(5)!.value), typeName: text(get(6)).replace(/^\.k8s\.io\./, '') };
      if (!list.some((x) => x.number === field.number)) list.push(field);
    } else if (f.number === 3) {
      addMessage(f.bytes!, name);
    }
  }
  messages.set(name, list);
}

for (const binary of binaries()) {
  const data = readFileSync(binary);
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
  for (let at = data.indexOf(magic); at >= 0; at = data.indexOf(magic, at + 1)) {
    let descriptor: Buffer;
    try {
      descriptor = gunzipSync(data.subarray(at, at + 4_000_000), { finishFlush: 2 });
    } catch {
      continue;
    }
    let fields: WireField[];
    try {
      fields = readMessage(descriptor);
    } catch {
      continue;
    }
    const file = text(fields.find((f) => f.number === 1 && f.bytes));
    if (!file.startsWith('k8s.io/')) continue;
    const pkg = text(fields.find((f) => f.number === 2)).replace(/^k8s\.io\./, '');
    for (const f of fields) if (f.number === 4) addMessage(f.bytes!, pkg);
  }
}

const reachable = new Set<string>();
const stack = [...ROOTS];
while (stack.length > 0) {
  const name = stack.pop()!;
  if (reachable.has(name)) continue;
  const fields = messages.get(name);
  if (!fields) throw new Error(`message ${name} not found in the descriptors`);
  reachable.add(name);
  for (const f of fields) if (f.type === 11) stack.push(f.typeName);
}

/** `name:number:type`, type `s` `i` `b` `y` `d` or `@Message`; `*` repeated; `{type}` a map with that value type. */
function encodeField(f: Field): string {
  if (f.type === 11) {
    const entry = messages.get(f.typeName)!;
    const isMap = f.repeated && f.typeName.endsWith('Entry') && entry.length === 2 && entry[0]!.name === 'key' && entry[1]!.name === 'value';
    if (isMap) {
      const value = entry[1]!;
      return `${f.name}:${f.number}:{${value.type === 11 ? `@${value.typeName}` : TYPE_CODES[value.type]}}`;
    }
    return `${f.name}:${f.number}:@${f.typeName}${f.repeated ? '*' : ''}`;
  }
  const code = TYPE_CODES[f.type];
  if (!code) throw new Error(`unsupported field type ${f.type} of ${f.name}`);
  return `${f.name}:${f.number}:${code}${f.repeated ? '*' : ''}`;
}

const lines = [...reachable]
  .filter((name) => !(name.endsWith('Entry') && messages.get(name)!.length === 2 && messages.get(name)![0]!.name === 'key'))
  .sort()
  .map((name) => `  '${name}': '${messages.get(name)!.sort((a, b) => a.number - b.number).map(encodeField).join(' ')}',`);

const out = `/**
 * Generated by \`npx tsx test/kube-api/gen-protobuf-schema.ts\` from the k8s.io protobuf file descriptors: the
 * fields of each message as \`jsonName:number:type\` (type \`s\` string, \`i\` integer, \`b\` bool, \`y\` bytes,
 * \`d\` double, \`@Message\`; \`*\` repeated; \`{type}\` a map<string, type>). Do not edit by hand.
 */
export const PROTOBUF_MESSAGES: Record<string, string> = {
${lines.join('\n')}
};
`;
writeFileSync(join(import.meta.dirname, 'protobuf-schema.ts'), out);
console.log(`protobuf-schema.ts: ${reachable.size} messages`);
