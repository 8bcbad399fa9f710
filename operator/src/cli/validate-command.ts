/** `shipway validate <files or dirs>`: every problem named by file, line, object, field path and reason. */
import { ManifestValidator } from '../validation/manifest-validator.ts';
import { parseFieldPath, type ValidationIssue } from '../validation/issue.ts';
import { crossObjectIssues } from '../validation/semantic.ts';
import { collectManifestFiles, readManifestFile } from './manifest-files.ts';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Returns the exit code: 0 all valid, 1 problems found, 2 nothing to validate or a path is missing. */
export async function runValidate(paths: readonly string[], io: Output): Promise<number> {
  const files = await collectManifestFiles(paths);
  if (files.length === 0) {
    io.err(`no manifest files (*.yaml, *.yml, *.json) under ${paths.join(', ')}`);
    return 2;
  }
  const validator = new ManifestValidator();
  let checked = 0;
  let problems = 0;
  let foreign = 0;
  const valid: { object: Record<string, unknown>; report: (issue: ValidationIssue) => void }[] = [];
  for (const file of files) {
    const parsed = await readManifestFile(file);
    for (const error of parsed.syntaxErrors) {
      io.out(`${file}:${error.line}: YAML: ${error.message}`);
      problems++;
    }
    for (const doc of parsed.documents) {
      for (const { value, prefix } of listItems(doc.value)) {
        const result = validator.validate(value);
        if (result.foreign) {
          foreign++;
          continue;
        }
        checked++;
        const who = `${result.kind ?? '?'}/${result.name ?? '?'}${doc.index > 1 ? ` (document ${doc.index})` : ''}`;
        const lineOf = (issue: ValidationIssue) => doc.lineOf([...prefix, ...parseFieldPath(issue.path)]);
        const report = (issue: ValidationIssue, line = lineOf(issue)) => {
          io.out(`${file}:${line}: ${who}: ${issue.path || '(object)'}: ${issue.message}`);
          problems++;
        };
        const located = result.issues.map((issue) => ({ issue, line: lineOf(issue) }));
        located.sort((a, b) => a.line - b.line);
        for (const { issue, line } of located) report(issue, line);
        if (result.object) valid.push({ object: result.object, report });
      }
    }
  }
  // Like semantic checks after the schema: checks across objects assume each object is fine on its own.
  if (problems === 0) for (const { object, issue } of crossObjectIssues(valid.map((v) => v.object))) valid[object]?.report(issue);
  const summary = `${checked} Shipway object(s) in ${files.length} file(s)${foreign > 0 ? `, ${foreign} other object(s) skipped` : ''}: ${problems === 0 ? 'all valid' : `${problems} problem(s)`}`;
  io.err(summary);
  return problems === 0 ? 0 : 1;
}

/** A `kind: List` document holds objects under items; anything else is one object. */
function listItems(value: unknown): { value: unknown; prefix: (string | number)[] }[] {
  const record = value as Record<string, unknown> | null;
  if (record && typeof record === 'object' && record.kind === 'List' && Array.isArray(record.items)) {
    return record.items.map((item, i) => ({ value: item, prefix: ['items', i] }));
  }
  return [{ value, prefix: [] }];
}
