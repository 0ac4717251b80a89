/**
 * schema.prisma and prisma/migrations agree: the migrations, applied to an empty database by our
 * runner, produce exactly the tables, columns, types, nullability, enums, unique constraints,
 * indexes and foreign keys that schema.prisma declares — and nothing it does not declare.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate } from '../../lib/db/migrate';
import { createEmptyDatabase } from '../helpers/db';
import { expectedPgType, readPrismaSchema } from '../helpers/prisma-schema';

const schema = readPrismaSchema();
let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let client: pg.Client;

beforeAll(async () => {
  db = await createEmptyDatabase();
  const applied = await migrate(db.url);
  expect(applied.length).toBe((await listMigrations()).length);
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

async function columns(table: string) {
  const { rows } = await client.query<{ column_name: string; data_type: string; udt_name: string; is_nullable: string }>(
    `SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = $1`,
    [table],
  );
  return new Map(rows.map((r) => [r.column_name, r]));
}

/** Index column lists per table: [{ unique, columns }] (non-btree methods appended as "@gin") */
async function indexes(table: string) {
  const { rows } = await client.query<{ indisunique: boolean; cols: string[]; amname: string }>(
    `SELECT i.indisunique, array_agg(a.attname ORDER BY k.ord)::text[] AS cols, am.amname
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_am am ON am.oid = ic.relam
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname = $1
      GROUP BY i.indexrelid, i.indisunique, am.amname`,
    [table],
  );
  return rows.map((r) => ({ unique: r.indisunique, cols: r.cols.join(',') + (r.amname === 'btree' ? '' : `@${r.amname}`) }));
}

describe('schema.prisma ⇔ migrations', () => {
  it('has exactly the declared tables', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const actual = rows.map((r) => r.table_name).filter((t) => t !== '_prisma_migrations').sort();
    expect(actual).toEqual(schema.models.map((m) => m.table).sort());
  });

  it('has exactly the declared enums and values', async () => {
    const { rows } = await client.query<{ typname: string; labels: string[] }>(
      `SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
        GROUP BY t.typname`,
    );
    const actual = Object.fromEntries(rows.map((r) => [r.typname, r.labels]));
    expect(actual).toEqual(schema.enums);
  });

  for (const model of schema.models) {
    describe(`${model.name} (${model.table})`, () => {
      it('every field is a column of the right type and nullability, and no column is undeclared', async () => {
        const cols = await columns(model.table);
        const scalars = model.fields.filter((f) => !f.isRelation);
        for (const f of scalars) {
          const c = cols.get(f.column);
          expect(c, `${model.name}.${f.name} → column ${f.column}`).toBeDefined();
          const exp = expectedPgType(f, schema.enums);
          expect(c!.data_type, `${model.name}.${f.name} type`).toBe(exp.dataType);
          if (exp.udt) expect(c!.udt_name, `${model.name}.${f.name} enum`).toBe(exp.udt);
          if (!f.list) expect(c!.is_nullable, `${model.name}.${f.name} nullability`).toBe(f.optional ? 'YES' : 'NO');
        }
        expect([...cols.keys()].sort()).toEqual(scalars.map((f) => f.column).sort());
      });

      it('has the declared primary key, unique constraints and indexes', async () => {
        const idx = await indexes(model.table);
        const col = (n: string) => model.fields.find((f) => f.name === n)!.column;
        const expected: { unique: boolean; cols: string }[] = [];
        for (const f of model.fields) {
          if (f.id || f.unique) expected.push({ unique: true, cols: f.column });
        }
        for (const u of model.uniques) expected.push({ unique: true, cols: u.map(col).join(',') });
        model.indexes.forEach((i, n) => {
          const type = model.indexTypes[n];
          expected.push({ unique: false, cols: i.map(col).join(',') + (type === 'btree' ? '' : `@${type}`) });
        });
        const key = (x: { unique: boolean; cols: string }) => `${x.unique ? 'U' : 'I'}:${x.cols}`;
        expect(idx.map(key).sort()).toEqual(expected.map(key).sort());
      });

      it('has a foreign key for every relation it owns', async () => {
        const { rows } = await client.query<{ cols: string[]; ref: string }>(
          `SELECT array_agg(a.attname ORDER BY k.ord)::text[] AS cols, rt.relname AS ref
             FROM pg_constraint c
             JOIN pg_class t ON t.oid = c.conrelid
             JOIN pg_class rt ON rt.oid = c.confrelid
             CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE c.contype = 'f' AND t.relname = $1
            GROUP BY c.oid, rt.relname`,
          [model.table],
        );
        const actual = rows.map((r) => `${r.cols.join(',')}->${r.ref}`).sort();
        const col = (n: string) => model.fields.find((f) => f.name === n)!.column;
        const expected = model.fields
          .filter((f) => f.relationFields)
          .map((f) => `${f.relationFields!.map(col).join(',')}->${schema.models.find((m) => m.name === f.type)!.table}`)
          .sort();
        expect(actual).toEqual(expected);
      });
    });
  }

  it('records migrations in Prisma’s _prisma_migrations table with checksums', async () => {
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
    );
    const files = await listMigrations();
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(files.map((m) => [m.name, m.checksum]));
    expect(rows.every((r) => r.finished_at)).toBe(true);
    expect(await migrate(db.url)).toEqual([]); // idempotent
  });
});
