/**
 * Label and field selectors with the semantics of k8s.io/apimachinery (labels.Parse, fields.ParseSelector,
 * metav1.LabelSelectorAsSelector). Errors are SelectorError; the server answers them with 400 BadRequest.
 */

export class SelectorError extends Error {
  override name = 'SelectorError';
}

export type LabelSelector = (labels: Record<string, string> | undefined) => boolean;

type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

// ---------------------------------------------------------------------------------------------
// Validation of keys and values (util/validation: IsQualifiedName, IsValidLabelValue)

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function labelKeyProblems(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return ["a qualified name must be an optional DNS subdomain prefix and '/' followed by a name (e.g. 'example.com/MyName')"];
  }
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const problems: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') problems.push('prefix part must be non-empty');
    else if (prefix.length > 253) problems.push('prefix part must be no more than 253 characters');
    else if (!DNS_SUBDOMAIN.test(prefix)) problems.push('prefix part must be a lowercase RFC 1123 subdomain');
  }
  if (name === '') problems.push('name part must be non-empty');
  else if (name.length > 63) problems.push('name part must be no more than 63 characters');
  else if (!NAME_PART.test(name)) {
    problems.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  }
  return problems;
}

function labelValueProblems(value: string): string[] {
  if (value.length > 63) return ['must be no more than 63 characters'];
  if (!LABEL_VALUE.test(value)) {
    return ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"];
  }
  return [];
}

function invalid(field: string, value: unknown, detail: string): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

/** NewRequirement's checks; throws SelectorError listing every problem. */
export function newRequirement(key: string, operator: Operator, values: string[]): Requirement {
  const errors: string[] = [];
  const keyProblems = labelKeyProblems(key);
  if (keyProblems.length > 0) errors.push(invalid('key', key, keyProblems.join('; ')));
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errors.push(invalid('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errors.push(invalid('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errors.push(invalid('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case '>':
    case '<':
      if (values.length !== 1) errors.push(invalid('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v)) errors.push(invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const problems = labelValueProblems(v);
    if (problems.length > 0) errors.push(invalid(`values[${i}][${key}]`, v, problems.join('; ')));
  });
  if (errors.length === 1) throw new SelectorError(errors[0]);
  if (errors.length > 1) throw new SelectorError(`[${errors.join(', ')}]`);
  return { key, operator, values };
}

function has(labels: Record<string, string> | undefined, key: string): labels is Record<string, string> {
  return labels !== undefined && labels !== null && Object.prototype.hasOwnProperty.call(labels, key);
}

export function requirementMatches(r: Requirement, labels: Record<string, string> | undefined): boolean {
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has(labels, r.key) && r.values.includes(labels[r.key]!);
    case '!=':
    case 'notin':
      return !has(labels, r.key) || !r.values.includes(labels[r.key]!);
    case 'exists':
      return has(labels, r.key);
    case '!':
      return !has(labels, r.key);
    case '>':
    case '<': {
      if (!has(labels, r.key) || !/^[+-]?\d+$/.test(labels[r.key]!)) return false;
      const actual = BigInt(labels[r.key]!);
      const wanted = BigInt(r.values[0]!);
      return r.operator === '>' ? actual > wanted : actual < wanted;
    }
  }
}

function selectorOf(requirements: Requirement[]): LabelSelector {
  return (labels) => requirements.every((r) => requirementMatches(r, labels));
}

// ---------------------------------------------------------------------------------------------
// Label selector string grammar:
//   selector    := requirement ("," requirement)*  |  ""
//   requirement := ["!"] KEY [ ("in"|"notin") "(" values ")" | ("="|"=="|"!="|">"|"<") VALUE ]

type TokenKind = 'id' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
}

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);
const OPERATOR_TOKENS: readonly string[] = ['(', ')', ',', '!', '=', '==', '!=', '>', '<'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (WHITESPACE.has(ch)) {
      i++;
    } else if (SYMBOLS.has(ch)) {
      // longest run of symbol characters that is still an operator
      let j = i + 1;
      while (j < text.length && SYMBOLS.has(text[j]!) && OPERATOR_TOKENS.includes(text.slice(i, j + 1))) j++;
      const symbol = text.slice(i, j);
      if (!OPERATOR_TOKENS.includes(symbol)) throw new SelectorError(`error expected: keyword found '${symbol}'`);
      tokens.push({ kind: symbol as TokenKind, text: symbol });
      i = j;
    } else {
      let j = i;
      while (j < text.length && !SYMBOLS.has(text[j]!) && !WHITESPACE.has(text[j]!)) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: word === 'in' || word === 'notin' ? word : 'id', text: word });
      i = j;
    }
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

class LabelParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  /** In value position the keywords `in`/`notin` are plain identifiers. */
  private peek(asValue = true): Token {
    const t = this.tokens[this.pos]!;
    return asValue && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'id', text: t.text } : t;
  }

  private next(asValue = true): Token {
    const t = this.peek(asValue);
    this.pos++;
    return t;
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'end') return requirements;
      if (t.kind !== 'id' && t.kind !== '!') {
        throw new SelectorError(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.requirement());
      } catch (e) {
        if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const after = this.next();
      if (after.kind === 'end') return requirements;
      if (after.kind !== ',') throw new SelectorError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.kind !== 'id' && following.kind !== '!') {
        throw new SelectorError(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): Requirement {
    let negated = false;
    let t = this.next();
    if (t.kind === '!') {
      negated = true;
      t = this.next();
    }
    if (t.kind !== 'id') throw new SelectorError(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyProblems = labelKeyProblems(key);
    if (keyProblems.length > 0) throw new SelectorError(invalid('key', key, keyProblems.join('; ')));
    const after = this.peek();
    // `!key` is complete by itself; anything after it other than `,` fails in parse() like upstream.
    if (negated) return newRequirement(key, '!', []);
    if (after.kind === 'end' || after.kind === ',') return newRequirement(key, 'exists', []);
    const op = this.next(false);
    switch (op.kind) {
      case 'in':
      case 'notin':
        return newRequirement(key, op.kind, this.valueSet());
      case '=':
      case '==':
      case '!=':
      case '>':
      case '<':
        return newRequirement(key, op.kind, [this.exactValue()]);
      default:
        throw new SelectorError(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private exactValue(): string {
    const t = this.peek();
    if (t.kind === 'end' || t.kind === ',') return '';
    this.next();
    if (t.kind !== 'id') throw new SelectorError(`found '${t.text}', expected: identifier`);
    return t.text;
  }

  /** "(" [values] ")": empty entries, as in `(a,,b)` or `()`, stand for the empty string. */
  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw new SelectorError(`found '${open.text}' expected: '('`);
    const values = new Set<string>();
    let expectValue = true;
    for (;;) {
      const t = this.next();
      if (t.kind === ')') {
        if (expectValue) values.add('');
        return [...values].sort();
      }
      if (t.kind === ',') {
        if (expectValue) values.add('');
        expectValue = true;
      } else if (t.kind === 'id' && expectValue) {
        values.add(t.text);
        expectValue = false;
      } else if (!expectValue) {
        throw new SelectorError(`found '${t.text}', expected: ',' or ')'`);
      } else {
        throw new SelectorError(`found '${t.text}', expected: ',', ')' or identifier`);
      }
    }
  }
}

export function parseLabelSelectorRequirements(text: string): Requirement[] {
  return new LabelParser(tokenize(text)).parse().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** labels.Parse: an empty string selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  return selectorOf(parseLabelSelectorRequirements(text));
}

// ---------------------------------------------------------------------------------------------
// metav1.LabelSelector

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

const EXPRESSION_OPERATORS: Record<string, Operator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector as requirements: `null` for a missing selector (selects nothing), `[]` for an
 * empty one (selects everything). Invalid keys, values or operators throw SelectorError.
 */
export function labelSelectorRequirements(sel: LabelSelectorObject | null | undefined): Requirement[] | null {
  if (sel === undefined || sel === null) return null;
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) requirements.push(newRequirement(key, '=', [value]));
  for (const expr of sel.matchExpressions ?? []) {
    const op = EXPRESSION_OPERATORS[expr.operator];
    if (op === undefined) throw new SelectorError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    requirements.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
  }
  return requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * A metav1.LabelSelector as a predicate. As in Kubernetes, `undefined`/`null` matches nothing and `{}` (no
 * matchLabels, no matchExpressions) matches everything; validation of workloads rejects empty selectors
 * separately, so a Deployment never gets here with `{}`.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  const requirements = labelSelectorRequirements(sel);
  return requirements === null ? () => false : selectorOf(requirements);
}

/** labels.Selector.String(): `a=b,c in (x,y),!d,e`, requirements sorted by key, set values sorted. */
export function requirementsToString(requirements: Requirement[]): string {
  return requirements
    .map((r) => {
      switch (r.operator) {
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.operator} (${[...r.values].sort().join(',')})`;
        default:
          return `${r.key}${r.operator}${r.values[0] ?? ''}`;
      }
    })
    .join(',');
}

/** metav1.FormatLabelSelector: the selector's string, `<none>` when empty or missing, `<error>` when invalid. */
export function formatLabelSelector(sel: LabelSelectorObject | null | undefined): string {
  try {
    const text = requirementsToString(labelSelectorRequirements(sel) ?? []);
    return text === '' ? '<none>' : text;
  } catch (e) {
    if (e instanceof SelectorError) return '<error>';
    throw e;
  }
}

/** labels.FormatLabels: `k=v` pairs sorted by key, `<none>` when empty. */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length === 0 ? '<none>' : keys.map((k) => `${k}=${labels![k]}`).join(',');
}

// ---------------------------------------------------------------------------------------------
// Field selectors (fields.ParseSelector): `a=b`, `a==b`, `a!=b`, comma = AND, `\` escapes `\`, `,` and `=`
// in values. No whitespace trimming: "a = b" asks about the field "a ".

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

function unescapeFieldValue(value: string): string {
  let out = '';
  let escaped = false;
  for (const c of value) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new SelectorError(`invalid field selector: invalid escape sequence: ${value}`);
      out += c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ',' || c === '=') {
      throw new SelectorError(`invalid field selector: unescaped character in value: ${value}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw new SelectorError(`invalid field selector: invalid escape sequence: ${value}`);
  return out;
}

export function parseFieldSelectorRequirements(text: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  for (const term of text === '' ? [] : splitTerms(text).sort()) {
    if (term === '') continue;
    // the first operator occurrence splits the term; `!=` and `==` win over `=` at the same position
    const match = /!=|==|=/.exec(term);
    if (match === null) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    requirements.push({
      field: term.slice(0, match.index),
      operator: match[0] === '!=' ? '!=' : '=',
      value: unescapeFieldValue(term.slice(match.index + match[0].length)),
    });
  }
  return requirements;
}

/** The field's value as the field set would hold it: strings as they are, numbers and booleans as text, missing as "". */
export function fieldValueByPath(obj: object, field: string): string {
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return '';
    cur = Object.prototype.hasOwnProperty.call(cur, part) ? (cur as Record<string, unknown>)[part] : undefined;
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return '';
}

export interface FieldSelectorOptions {
  /** Reads a field's value; defaults to {@link fieldValueByPath}. */
  resolve?: (obj: object, field: string) => string;
}

/**
 * A field selector as a predicate. `metadata.name` and `metadata.namespace` are always supported; any other
 * field must pass `supported`, else SelectorError `field label not supported: <field>`.
 */
export function parseFieldSelector(
  text: string,
  supported: (field: string) => boolean,
  options: FieldSelectorOptions = {},
): (obj: object) => boolean {
  const requirements = parseFieldSelectorRequirements(text);
  for (const r of requirements) {
    if (r.field !== 'metadata.name' && r.field !== 'metadata.namespace' && !supported(r.field)) {
      throw new SelectorError(`field label not supported: ${r.field}`);
    }
  }
  const resolve = options.resolve ?? fieldValueByPath;
  return (obj) => requirements.every((r) => (resolve(obj, r.field) === r.value) === (r.operator === '='));
}

/**
 * Field selectors the real API server accepts beyond metadata.name/metadata.namespace, per kind, with the
 * fields whose value is not at the same dotted path.
 */
const BUILTIN_FIELDS: Record<string, Record<string, string>> = {
  Pod: {
    'spec.nodeName': 'spec.nodeName',
    'spec.restartPolicy': 'spec.restartPolicy',
    'spec.schedulerName': 'spec.schedulerName',
    'spec.serviceAccountName': 'spec.serviceAccountName',
    'spec.hostNetwork': 'spec.hostNetwork',
    'status.phase': 'status.phase',
    'status.podIP': 'status.podIP',
    'status.nominatedNodeName': 'status.nominatedNodeName',
  },
  Event: {
    'involvedObject.kind': 'involvedObject.kind',
    'involvedObject.namespace': 'involvedObject.namespace',
    'involvedObject.name': 'involvedObject.name',
    'involvedObject.uid': 'involvedObject.uid',
    'involvedObject.apiVersion': 'involvedObject.apiVersion',
    'involvedObject.resourceVersion': 'involvedObject.resourceVersion',
    'involvedObject.fieldPath': 'involvedObject.fieldPath',
    reason: 'reason',
    reportingComponent: 'reportingComponent',
    source: 'source.component',
    type: 'type',
  },
  Secret: { type: 'type' },
  Namespace: { 'status.phase': 'status.phase' },
  Node: { 'spec.unschedulable': 'spec.unschedulable' },
  ReplicaSet: { 'status.replicas': 'status.replicas' },
  ReplicationController: { 'status.replicas': 'status.replicas' },
  Job: { 'status.successful': 'status.succeeded' },
};

/** `supported` and `resolve` for parseFieldSelector on a built-in kind; other kinds get metadata fields only. */
export function builtinFieldSelectors(kind: string): { supported: (field: string) => boolean; resolve: (obj: object, field: string) => string } {
  const fields = BUILTIN_FIELDS[kind] ?? {};
  return {
    supported: (field) => Object.prototype.hasOwnProperty.call(fields, field),
    resolve: (obj, field) => {
      if ((kind === 'Pod' && field === 'spec.hostNetwork') || (kind === 'Node' && field === 'spec.unschedulable')) {
        return String(fieldValueByPath(obj, field) === 'true');
      }
      if (kind === 'Event' && field === 'source') return fieldValueByPath(obj, 'source.component') || fieldValueByPath(obj, 'reportingComponent');
      if ((kind === 'ReplicaSet' || kind === 'ReplicationController' || kind === 'Job') && fields[field]) {
        return String(Number(fieldValueByPath(obj, fields[field]!) || 0));
      }
      return fieldValueByPath(obj, Object.prototype.hasOwnProperty.call(fields, field) ? fields[field]! : field);
    },
  };
}
