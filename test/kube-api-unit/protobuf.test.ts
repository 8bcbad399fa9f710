import { describe, expect, it } from 'vitest';
import { decodeKubernetesProtobuf, PROTOBUF_MAGIC } from '../kube-api/protobuf.ts';
import { decodeBody } from '../kube-api/request.ts';
import { ApiError } from '../kube-api/errors.ts';

/** Bodies recorded from kubectl 1.32 and helm 3.17 (`application/vnd.kubernetes.protobuf`). */
const KUBECTL_CREATE_DEPLOYMENT =
  'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EsEBCiQKA3dlYhIAGgVzbW9rZSIAKgAyADgAQgBaCgoDYXBwEgN3ZWISigEIABIMCgoKA2FwcBIDd2ViGnAKHAoAEgAaACIAKgAyADgAQgBaCgoDYXBwEgN3ZWISUBIyCgVuZ2lueBIJbmdpbng6MS4yKgAyCgoAEAAYUCIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=';
const KUBECTL_CREATE_SECRET = 'azhzAAoMCgJ2MRIGU2VjcmV0EiIKFgoBcxIAGgVzbW9rZSIAKgAyADgAQgASBgoBeBIBeRoAGgAiAA==';
const HELM_DELETE_OPTIONS = 'azhzAAoTCgJ2MRINRGVsZXRlT3B0aW9ucxIAGgAiAA==';

// A tiny encoder for hand-made messages.
const varint = (n: bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const bytesField = (n: number, bytes: Buffer | number[]) => Buffer.from([...varint(BigInt((n << 3) | 2)), ...varint(BigInt(bytes.length)), ...bytes]);
const str = (n: number, s: string) => bytesField(n, Buffer.from(s));
const int = (n: number, v: number) => Buffer.from([...varint(BigInt(n << 3)), ...varint(BigInt(v))]);
const envelope = (apiVersion: string, kind: string, raw: Buffer) => Buffer.concat([PROTOBUF_MAGIC, bytesField(1, Buffer.concat([str(1, apiVersion), str(2, kind)])), bytesField(2, raw)]);

describe('Kubernetes protobuf request bodies', () => {
  it('decodes kubectl create deployment as the JSON kubectl would send, keeping replicas: 0 (a pointer field)', () => {
    expect(decodeKubernetesProtobuf(Buffer.from(KUBECTL_CREATE_DEPLOYMENT, 'base64'))).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'smoke', labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.2', ports: [{ containerPort: 80 }], resources: {} }] } },
        strategy: {},
      },
      status: {},
    });
  });

  it('decodes a Secret (bytes as base64) and empty DeleteOptions', () => {
    expect(decodeKubernetesProtobuf(Buffer.from(KUBECTL_CREATE_SECRET, 'base64'))).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'smoke' }, data: { x: 'eQ==' } });
    expect(decodeKubernetesProtobuf(Buffer.from(HELM_DELETE_OPTIONS, 'base64'))).toEqual({ apiVersion: 'v1', kind: 'DeleteOptions' });
  });

  it('renders Time, IntOrString, Quantity and negative numbers as JSON does', () => {
    const meta = Buffer.concat([str(1, 'x'), bytesField(8, Buffer.concat([int(1, 1_700_000_000)]))]);
    const port = Buffer.concat([str(1, 'http'), int(3, 80), bytesField(4, Buffer.concat([int(1, 1), str(3, 'web')]))]);
    const service = Buffer.concat([bytesField(1, meta), bytesField(2, bytesField(1, port))]);
    expect(decodeKubernetesProtobuf(envelope('v1', 'Service', service))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x', creationTimestamp: '2023-11-14T22:13:20Z' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    });
    const limits = bytesField(1, Buffer.concat([str(1, 'cpu'), bytesField(2, str(1, '500m'))]));
    const container = Buffer.concat([str(1, 'c'), bytesField(8, limits)]);
    const pod = Buffer.concat([bytesField(1, str(1, 'p')), bytesField(2, Buffer.concat([bytesField(2, container), Buffer.from([...varint(BigInt(4 << 3)), ...varint(-5n)])]))]);
    expect(decodeKubernetesProtobuf(envelope('v1', 'Pod', pod))).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { cpu: '500m' } } }], terminationGracePeriodSeconds: -5 } });
  });

  it('skips unknown fields that hold zeros, and refuses unknown fields with data (400 through decodeBody)', () => {
    const withZero = Buffer.concat([bytesField(1, str(1, 'cm')), int(99, 0), bytesField(98, Buffer.alloc(0))]);
    expect(decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', withZero))).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
    const withData = Buffer.concat([bytesField(1, str(1, 'cm')), int(99, 7)]);
    expect(() => decodeBody(envelope('v1', 'ConfigMap', withData), 'application/vnd.kubernetes.protobuf')).toThrow(ApiError);
    try {
      decodeBody(envelope('v1', 'ConfigMap', withData), 'application/vnd.kubernetes.protobuf');
    } catch (error) {
      expect((error as ApiError).code).toBe(400);
      expect((error as ApiError).message).toMatch(/field 99 of api\.core\.v1\.ConfigMap/);
    }
    expect(() => decodeBody(Buffer.from('{}'), 'application/vnd.kubernetes.protobuf')).toThrow(/envelope/);
    expect(() => decodeBody(envelope('example.com/v1', 'Widget', Buffer.alloc(0)), 'application/vnd.kubernetes.protobuf')).toThrow(/no protobuf schema/);
  });

  it('still answers 415 for CBOR, so client-go falls back to JSON', () => {
    expect(() => decodeBody(Buffer.from([0xd9]), 'application/cbor')).toThrow(expect.objectContaining({ code: 415 }));
  });
});
