import { describe, expect, it } from 'vitest';
import {
  SelectorError,
  builtinFieldSelectors,
  formatLabelSelector,
  formatLabels,
  labelSelectorFromObject,
  parseFieldSelector,
  parseLabelSelector,
} from '../../operator/src/planning/selectors.ts';

type Labels = Record<string, string> | undefined;

describe('parseLabelSelector matches like labels.Parse', () => {
  const cases: [selector: string, labels: Labels, matches: boolean][] = [
    ['', undefined, true],
    ['', { app: 'web' }, true],
    ['app=web', { app: 'web' }, true],
    ['app=web', { app: 'api' }, false],
    ['app=web', {}, false],
    ['app==web', { app: 'web' }, true],
    ['app!=web', {}, true],
    ['app!=web', { app: 'api' }, true],
    ['app!=web', { app: 'web' }, false],
    ['env in (prod, staging)', { env: 'staging' }, true],
    ['env in (prod,staging)', { env: 'dev' }, false],
    ['env in (prod)', {}, false],
    ['env notin (prod)', {}, true],
    ['env notin (prod)', { env: 'prod' }, false],
    ['env notin (prod)', { env: 'dev' }, true],
    ['app', { app: '' }, true],
    ['app', {}, false],
    ['!app', {}, true],
    ['!app', { app: 'web' }, false],
    ['app=web,tier', { app: 'web', tier: 'fe' }, true],
    ['app=web,tier', { app: 'web' }, false],
    ['app=web,!canary,env in (a,b)', { app: 'web', env: 'b' }, true],
    ['  app = web ,\ttier in ( fe )  ', { app: 'web', tier: 'fe' }, true],
    ['app=', { app: '' }, true],
    ['app=', { app: 'x' }, false],
    ['x in ()', { x: '' }, true],
    ['x in ()', { x: 'a' }, false],
    ['x in (a,,b)', { x: '' }, true],
    ['x in (a,,b)', { x: 'b' }, true],
    ['replicas>3', { replicas: '4' }, true],
    ['replicas>3', { replicas: '3' }, false],
    ['replicas<3', { replicas: '2' }, true],
    ['replicas<3', { replicas: 'two' }, false],
    ['replicas<3', {}, false],
    ['in in (in, notin)', { in: 'notin' }, true],
    ['example.com/app=web', { 'example.com/app': 'web' }, true],
    ['app.kubernetes.io/name in (shipway)', { 'app.kubernetes.io/name': 'shipway' }, true],
    ['constructor', {}, false],
    ['!toString', {}, true],
  ];
  it.each(cases)('%j on %j → %s', (selector, labels, matches) => {
    expect(parseLabelSelector(selector)(labels)).toBe(matches);
  });
});

describe('parseLabelSelector rejects what the API server answers with 400', () => {
  const cases: [selector: string, message: RegExp][] = [
    ['app=web=x', /found '=', expected: ',' or 'end of string'/],
    ['app in web', /found 'web' expected: '\('/],
    ['app in (a', /found '', expected: ',' or '\)'/],
    ['app in (a b)', /found 'b', expected: ',' or '\)'/],
    ['app in (=)', /found '=', expected: ',', '\)' or identifier/],
    [',app', /found ',', expected: !, identifier, or 'end of string'/],
    ['app,', /found '', expected: identifier after ','/],
    ['!app=web', /found '=', expected: ',' or 'end of string'/],
    ['app web', /unable to parse requirement: found 'web', expected: in, notin/],
    ['app=(x)', /unable to parse requirement: found '\(', expected: identifier/],
    [`app=${'x'.repeat(64)}`, /unable to parse requirement: .*must be no more than 63 characters/],
    ['app=-web', /unable to parse requirement: .*a valid label must be/],
    ['replicas>three', /the value must be an integer/],
    ['Example.com/app=web', /unable to parse requirement: key: Invalid value: "Example.com\/app": prefix part/],
    ['a/b/c', /unable to parse requirement: key: Invalid value/],
    ['-app', /name part must consist of alphanumeric characters/],
  ];
  it.each(cases)('%j', (selector, message) => {
    expect(() => parseLabelSelector(selector)).toThrow(SelectorError);
    expect(() => parseLabelSelector(selector)).toThrow(message);
  });
});

describe('labelSelectorFromObject follows metav1.LabelSelectorAsSelector', () => {
  it('selects nothing without a selector and everything with an empty one', () => {
    expect(labelSelectorFromObject(undefined)({ app: 'web' })).toBe(false);
    expect(labelSelectorFromObject(null)(undefined)).toBe(false);
    expect(labelSelectorFromObject({})({ app: 'web' })).toBe(true);
    expect(labelSelectorFromObject({ matchLabels: {}, matchExpressions: [] })(undefined)).toBe(true);
  });

  it('ANDs matchLabels and every matchExpressions operator', () => {
    const select = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'team', operator: 'Exists' },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
    expect(select({ app: 'web', env: 'prod', team: 'a' })).toBe(true);
    expect(select({ app: 'web', env: 'prod', team: 'a', tier: 'db' })).toBe(false);
    expect(select({ app: 'web', env: 'prod', team: 'a', canary: 'yes' })).toBe(false);
    expect(select({ app: 'web', env: 'dev', team: 'a' })).toBe(false);
    expect(select({ env: 'prod', team: 'a' })).toBe(false);
  });

  it('throws SelectorError for invalid operators, missing values and bad keys', () => {
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Gt' as never, values: ['1'] }] })).toThrow('"Gt" is not a valid label selector operator');
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toThrow("values set can't be empty");
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })).toThrow('values set must be empty');
    expect(() => labelSelectorFromObject({ matchLabels: { 'bad key': 'x' } })).toThrow(SelectorError);
  });

  it('prints like metav1.FormatLabelSelector and labels.FormatLabels', () => {
    const sel = {
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'c', operator: 'In' as const, values: ['y', 'x'] },
        { key: 'd', operator: 'DoesNotExist' as const },
        { key: 'e', operator: 'Exists' as const },
      ],
    };
    expect(formatLabelSelector(sel)).toBe('a=1,b=2,c in (x,y),!d,e');
    expect(formatLabelSelector(undefined)).toBe('<none>');
    expect(formatLabelSelector({})).toBe('<none>');
    expect(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toBe('<error>');
    expect(formatLabels({ z: '1', a: '2' })).toBe('a=2,z=1');
    expect(formatLabels({})).toBe('<none>');
  });
});

describe('parseFieldSelector', () => {
  const pod = { metadata: { name: 'web-1', namespace: 'apps' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } };
  const pods = builtinFieldSelectors('Pod');

  const cases: [selector: string, matches: boolean][] = [
    ['', true],
    ['metadata.name=web-1', true],
    ['metadata.name==web-1', true],
    ['metadata.name!=web-1', false],
    ['metadata.namespace=apps,metadata.name=web-1', true],
    ['metadata.namespace=apps,metadata.name=web-2', false],
    ['status.phase=Running,spec.nodeName=node-1', true],
    ['status.phase!=Running', false],
    ['spec.restartPolicy=', true],
    ['spec.hostNetwork=false', true],
    ['status.podIP!=', false],
    [',metadata.name=web-1,', true],
  ];
  it.each(cases)('%j on a pod → %s', (selector, matches) => {
    expect(parseFieldSelector(selector, pods.supported, { resolve: pods.resolve })(pod)).toBe(matches);
  });

  it('always supports metadata.name and metadata.namespace and rejects other fields like the API server', () => {
    const none = () => false;
    expect(parseFieldSelector('metadata.name=a,metadata.namespace=b', none)({ metadata: { name: 'a', namespace: 'b' } })).toBe(true);
    expect(() => parseFieldSelector('spec.foo=bar', none)).toThrow(new SelectorError('field label not supported: spec.foo'));
    expect(() => parseFieldSelector('spec.nodeName=x', builtinFieldSelectors('Deployment').supported)).toThrow('field label not supported: spec.nodeName');
    // no whitespace trimming: the field is " metadata.name"
    expect(() => parseFieldSelector(' metadata.name=x', none)).toThrow('field label not supported:  metadata.name');
  });

  it('rejects terms without an operator and bad escapes', () => {
    expect(() => parseFieldSelector('metadata.name', () => true)).toThrow("invalid selector: 'metadata.name'; can't understand 'metadata.name'");
    expect(() => parseFieldSelector('metadata.name=a=b', () => true)).toThrow(/unescaped character/);
    expect(() => parseFieldSelector('metadata.name=a\\x', () => true)).toThrow(/invalid escape sequence/);
    expect(() => parseFieldSelector('metadata.name=a\\', () => true)).toThrow(/invalid escape sequence/);
  });

  it('unescapes \\, \\= and \\\\ in values', () => {
    const match = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d', () => false);
    expect(match({ metadata: { name: 'a,b=c\\d' } })).toBe(true);
  });

  it('reads values by dotted path with numbers and booleans as text and missing fields as ""', () => {
    const match = parseFieldSelector('spec.replicas=3,spec.paused=true,spec.missing=', () => true);
    expect(match({ spec: { replicas: 3, paused: true } })).toBe(true);
  });

  it('resolves the built-in fields that do not sit at their own path', () => {
    const events = builtinFieldSelectors('Event');
    const ev = { involvedObject: { kind: 'Deployment', name: 'web' }, reportingComponent: 'deployment-controller', type: 'Normal' };
    expect(parseFieldSelector('involvedObject.kind=Deployment,involvedObject.name=web,source=deployment-controller', events.supported, events)(ev)).toBe(true);
    expect(parseFieldSelector('source=kubelet', events.supported, events)({ source: { component: 'kubelet' } })).toBe(true);
    const jobs = builtinFieldSelectors('Job');
    expect(parseFieldSelector('status.successful=2', jobs.supported, jobs)({ status: { succeeded: 2 } })).toBe(true);
    expect(parseFieldSelector('status.successful=0', jobs.supported, jobs)({ status: {} })).toBe(true);
    const secrets = builtinFieldSelectors('Secret');
    expect(parseFieldSelector('type=kubernetes.io/tls', secrets.supported, secrets)({ type: 'kubernetes.io/tls' })).toBe(true);
  });
});
