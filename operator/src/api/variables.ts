/** Release variables: plain, secret, env_specific, template and external, resolved by precedence. */
import { SecretKeySelector } from './common.ts';
import { PATTERNS } from './patterns.ts';
import { Obj, StringEnum, StringMap, Type, type Static } from './schema-helpers.ts';

export const VARIABLE_TYPES = ['plain', 'secret', 'env_specific', 'template', 'external'] as const;
export const EXTERNAL_SOURCES = ['env', 'file', 'secret', 'vault'] as const;

const ExternalSource = Obj(
  {
    source: StringEnum(EXTERNAL_SOURCES),
    key: Type.String({ minLength: 1, maxLength: 1024, description: 'Variable name, file path, Secret key or vault path.' }),
    secretName: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'For source secret: the Secret.' })),
  },
  { rules: [{ rule: "self.source != 'secret' || has(self.secretName)", message: 'secretName is required for source secret', fieldPath: '.secretName', reason: 'FieldValueRequired' }] },
);

export const Variable = Obj(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: PATTERNS.variableName.regex }),
    type: StringEnum(VARIABLE_TYPES, { default: 'plain' }),
    value: Type.Optional(Type.String({ maxLength: 65536, description: 'plain: the value; template: text with ${NAME} references.' })),
    secretKeyRef: Type.Optional(SecretKeySelector),
    values: Type.Optional(StringMap({ maxProperties: 50, description: 'env_specific: a value per environment name.' })),
    external: Type.Optional(ExternalSource),
  },
  {
    rules: [
      { rule: "self.type != 'secret' || (has(self.secretKeyRef) && !has(self.value))", message: 'a secret variable takes secretKeyRef, never an inline value', fieldPath: '.secretKeyRef' },
      { rule: "self.type != 'env_specific' || has(self.values)", message: 'values is required for an env_specific variable', fieldPath: '.values', reason: 'FieldValueRequired' },
      { rule: "!(self.type in ['plain', 'template']) || has(self.value)", message: 'value is required for plain and template variables', fieldPath: '.value', reason: 'FieldValueRequired' },
      { rule: "self.type != 'external' || has(self.external)", message: 'external is required for an external variable', fieldPath: '.external', reason: 'FieldValueRequired' },
      { rule: "!has(self.secretKeyRef) || self.type == 'secret'", message: 'secretKeyRef is only allowed for a secret variable', fieldPath: '.secretKeyRef', reason: 'FieldValueForbidden' },
      { rule: "!has(self.values) || self.type == 'env_specific'", message: 'values is only allowed for an env_specific variable', fieldPath: '.values', reason: 'FieldValueForbidden' },
      { rule: "!has(self.external) || self.type == 'external'", message: 'external is only allowed for an external variable', fieldPath: '.external', reason: 'FieldValueForbidden' },
    ],
  },
);
export type Variable = Static<typeof Variable>;

export const Variables = Type.Array(Variable, {
  maxItems: 200,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['name'],
});
