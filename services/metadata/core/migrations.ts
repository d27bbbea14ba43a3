/**
 * @module metadata/core/migrations
 * Which migration files to apply: files are `NNN_name.sql` (NNN = version), applied in version
 * order, each once. The runner (adapters/pg-repo.ts) does the locking and the SQL.
 */

export interface Migration {
  version: number;
  name: string;
  file: string;
}

const FILE_RE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Parses and orders migration file names; throws on a malformed name or a duplicate version. */
export function parseMigrationFiles(files: string[]): Migration[] {
  const out: Migration[] = [];
  const versions = new Set<number>();
  for (const file of files) {
    if (!file.endsWith(".sql")) continue;
    const m = FILE_RE.exec(file);
    if (!m) throw new Error(`malformed migration file name ${JSON.stringify(file)} (want NNN_name.sql)`);
    const version = Number(m[1]);
    if (versions.has(version)) throw new Error(`duplicate migration version ${version}`);
    versions.add(version);
    out.push({ version, name: m[2]!, file });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** The migrations not yet applied, in order. */
export function pendingMigrations(all: Migration[], applied: Iterable<number>): Migration[] {
  const done = new Set([...applied].map(Number));
  return all.filter((m) => !done.has(m.version));
}
