/** Which printer a resource type uses for Tables: the CRD's columns, or the built-in printer of its kind. */
import { badRequest } from './errors.ts';
import type { ResourceType } from './resource-types.ts';
import { builtinPrinter, TableOptionsError, toTable } from './table.ts';
import type { KubeObject } from './store.ts';

export function renderTable(
  type: ResourceType,
  version: string,
  objects: KubeObject[],
  options: { includeObject: string | null; resourceVersion?: string; continue?: string | undefined; now: Date },
): KubeObject {
  const columns = type.crd ? type.crd.printerColumns[version] : builtinPrinter(type.kind);
  try {
    return toTable(objects, columns, {
      ...(options.includeObject ? { includeObject: options.includeObject } : {}),
      ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
      ...(options.continue ? { continue: options.continue } : {}),
      now: options.now,
    });
  } catch (error) {
    if (error instanceof TableOptionsError) throw badRequest(error.message);
    throw error;
  }
}
