/** A mistake in the command line: the caller prints it and exits 2, as for an unknown flag. In a module of its own so the CLI can check for it without loading any command. */
export class UsageError extends Error {}
