/** `${VAR}` references in text (task templates, URLs, headers, notification channels). Pure. */

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${NAME}` with the variable's value; a reference to an unknown variable stays as written. */
export function expandVariables(text: string, variables: Readonly<Record<string, string>>): string {
  return text.replace(REFERENCE, (reference, name: string) => (Object.hasOwn(variables, name) ? variables[name]! : reference));
}

/** Names of the `${NAME}` references in the text, each once, in order of appearance. */
export function variableReferences(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(REFERENCE), (match) => match[1]!))];
}
