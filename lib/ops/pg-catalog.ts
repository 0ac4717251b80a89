/**
 * What backup and restore read from PostgreSQL's catalog, so they follow the schema without a list
 * of tables in code: the tables of the current schema with their stored (not generated) columns,
 * sequences, foreign-key edges and user triggers.
 */
import type pg from 'pg';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface TableInfo {
  name: string;
  columns: string[];
}

/** Ordinary and partitioned tables (not partitions) of the current schema, by name. */
export async function listTables(client: pg.Client): Promise<TableInfo[]> {
  const r = await client.query<{ name: string; columns: string[] }>(`
    SELECT c.relname AS name,
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attname IS NOT NULL) AS columns
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    GROUP BY c.relname ORDER BY c.relname`);
  return r.rows.map((x) => ({ name: x.name, columns: x.columns ?? [] }));
}

export async function listSequences(client: pg.Client): Promise<{ name: string; lastValue: string; isCalled: boolean }[]> {
  const names = await client.query<{ name: string }>(`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'S' ORDER BY c.relname`);
  const out = [];
  for (const { name } of names.rows) {
    const v = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${quoteIdent(name)}`);
    out.push({ name, lastValue: v.rows[0].last_value, isCalled: v.rows[0].is_called });
  }
  return out;
}

/** Foreign keys between tables of the current schema: [referencing table, referenced table]. */
export async function foreignKeyEdges(client: pg.Client): Promise<[string, string][]> {
  const r = await client.query<{ child: string; parent: string }>(`
    SELECT ch.relname AS child, pa.relname AS parent
    FROM pg_constraint k
    JOIN pg_class ch ON ch.oid = k.conrelid
    JOIN pg_class pa ON pa.oid = k.confrelid
    JOIN pg_namespace n ON n.oid = ch.relnamespace
    WHERE k.contype = 'f' AND n.nspname = current_schema()`);
  return r.rows.map((x) => [x.child, x.parent]);
}

/** Tables ordered so that every table comes after the tables it references (self-references allowed). */
export function loadOrder(tables: string[], edges: [string, string][]): string[] {
  const deps = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const [child, parent] of edges) if (child !== parent && deps.has(child) && deps.has(parent)) deps.get(child)!.add(parent);
  const out: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: string, trail: string[]) => {
    if (state.get(t) === 'done') return;
    if (state.get(t) === 'visiting') throw new Error(`foreign keys form a cycle: ${[...trail, t].join(' -> ')}`);
    state.set(t, 'visiting');
    for (const p of [...deps.get(t)!].sort()) visit(p, [...trail, t]);
    state.set(t, 'done');
    out.push(t);
  };
  for (const t of [...tables].sort()) visit(t, []);
  return out;
}

/** Enabled user (non-internal) triggers of a table. */
export async function enabledUserTriggers(client: pg.Client, table: string): Promise<string[]> {
  const r = await client.query<{ tgname: string }>(
    `SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relname = $1 AND NOT t.tgisinternal AND t.tgenabled <> 'D' ORDER BY t.tgname`,
    [table],
  );
  return r.rows.map((x) => x.tgname);
}
