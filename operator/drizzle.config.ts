import { defineConfig } from 'drizzle-kit';

// Paths are relative to the repository root: run `npm run db:generate` from there.
export default defineConfig({
  dialect: 'postgresql',
  schema: './operator/src/storage/schema.ts',
  out: './operator/drizzle',
});
