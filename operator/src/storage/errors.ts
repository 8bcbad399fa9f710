/** Errors the storage layer throws on purpose; anything else is a driver or SQL failure. */
export class StorageError extends Error {
  override name = 'StorageError';
}

export class NotFoundError extends StorageError {
  override name = 'NotFoundError';

  constructor(
    readonly table: string,
    readonly id: string,
  ) {
    super(`${table} ${id} does not exist`);
  }
}

/** Someone else updated the row since the caller read it: re-read, re-decide, retry. */
export class OptimisticLockError extends StorageError {
  override name = 'OptimisticLockError';

  constructor(
    readonly table: string,
    readonly id: string,
    readonly expectedLockVersion: number | null,
    readonly actualLockVersion: number | null,
  ) {
    const show = (version: number | null) => (version === null ? '(no row)' : String(version));
    super(
      `${table} ${id} was changed concurrently: expected lock version ${show(expectedLockVersion)}, found ${show(actualLockVersion)}`,
    );
  }
}

/** The row is not in the state the write requires (e.g. deciding an approval that is no longer pending). */
export class StateConflictError extends StorageError {
  override name = 'StateConflictError';

  constructor(
    readonly table: string,
    readonly id: string,
    readonly expectedState: string,
    readonly actualState: string,
  ) {
    super(`${table} ${id} is ${actualState}, expected ${expectedState}`);
  }
}
