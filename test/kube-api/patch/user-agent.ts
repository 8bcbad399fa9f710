/**
 * The manager a write without `fieldManager` is recorded under: the User-Agent up to its first `/`
 * (`kubectl/v1.32.0 (linux/amd64) ...` → `kubectl`), as the real server does (we also cut it to the 128 bytes a manager name may have).
 */
import { FIELD_MANAGER_MAX_LENGTH } from './patch-options.ts';

export function managerFromUserAgent(userAgent: string | undefined): string {
  const prefix = (userAgent ?? '').split('/', 1)[0]!;
  const bytes = Buffer.from(prefix);
  return bytes.length <= FIELD_MANAGER_MAX_LENGTH ? prefix : bytes.subarray(0, FIELD_MANAGER_MAX_LENGTH).toString();
}
