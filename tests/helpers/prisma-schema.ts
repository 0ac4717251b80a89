/**
 * A small reader for prisma/schema.prisma, enough to compare the declared model with a live
 * database (tests/integration/schema.test.ts). It understands models, enums, @map/@@map,
 * ?, [], @id, @unique, @@unique, @@index, @relation(fields, references) and @db.* types.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface PField {
  name: string;
  column: string;
  type: string;
  optional: boolean;
  list: boolean;
  attrs: string;
  isRelation: boolean;
  nativeType?: string;
  id: boolean;
  unique: boolean;
  relationFields?: string[];
}
export interface PModel {
  name: string;
  table: string;
  fields: PField[];
  uniques: string[][];
  indexes: string[][];
  /** Index method per entry of `indexes` ('btree' unless `type: Gin` etc. is declared). */
  indexTypes: string[];
}
export interface PSchema {
  models: PModel[];
  enums: Record<string, string[]>;
}

export function readPrismaSchema(file = path.resolve(import.meta.dirname, '../../prisma/schema.prisma')): PSchema {
  const src = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\/\/.*$/, ''))
    .join('\n');
  const enums: Record<string, string[]> = {};
  for (const m of src.matchAll(/^enum\s+(\w+)\s*\{\n([\s\S]*?)^\}/gm)) {
    enums[m[1]] = m[2].split('\n').map((s) => s.trim()).filter(Boolean);
  }
  const modelNames = [...src.matchAll(/model\s+(\w+)\s*\{/g)].map((m) => m[1]);
  const models: PModel[] = [];
  for (const m of src.matchAll(/^model\s+(\w+)\s*\{\n([\s\S]*?)^\}/gm)) {
    const [, name, body] = m;
    const model: PModel = { name, table: name, fields: [], uniques: [], indexes: [], indexTypes: [] };
    for (const raw of body.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('@@')) {
        const map = line.match(/^@@map\("([^"]+)"\)/);
        if (map) model.table = map[1];
        const u = line.match(/^@@unique\(\[([^\]]+)\]/);
        if (u) model.uniques.push(u[1].split(',').map((s) => s.trim()));
        const i = line.match(/^@@index\(\[([^\]]+)\]/);
        if (i) {
          model.indexes.push(i[1].split(',').map((s) => s.trim()));
          model.indexTypes.push((line.match(/\btype:\s*(\w+)/)?.[1] ?? 'btree').toLowerCase());
        }
        continue;
      }
      const fm = line.match(/^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/);
      if (!fm) throw new Error(`cannot read field line: ${line}`);
      const [, fname, type, list, opt, attrs] = fm;
      const colMap = attrs.match(/@map\("([^"]+)"\)/);
      const native = attrs.match(/@db\.(\w+)/);
      const rel = attrs.match(/@relation\([^)]*fields:\s*\[([^\]]+)\]/);
      model.fields.push({
        name: fname,
        column: colMap ? colMap[1] : fname,
        type,
        optional: !!opt,
        list: !!list,
        attrs,
        isRelation: modelNames.includes(type),
        nativeType: native?.[1],
        id: /@id\b/.test(attrs),
        unique: /@unique\b/.test(attrs),
        relationFields: rel ? rel[1].split(',').map((s) => s.trim()) : undefined,
      });
    }
    models.push(model);
  }
  return { models, enums };
}

/** The PostgreSQL type Prisma creates for a scalar field (as information_schema names it). */
export function expectedPgType(f: PField, enums: Record<string, string[]>): { dataType: string; udt?: string } {
  if (f.list) return { dataType: 'ARRAY' };
  if (enums[f.type]) return { dataType: 'USER-DEFINED', udt: f.type };
  switch (f.type) {
    case 'String':
      return { dataType: f.nativeType === 'Uuid' ? 'uuid' : 'text' };
    case 'Int':
      return { dataType: f.nativeType === 'SmallInt' ? 'smallint' : 'integer' };
    case 'BigInt':
      return { dataType: 'bigint' };
    case 'Boolean':
      return { dataType: 'boolean' };
    case 'Float':
      return { dataType: 'double precision' };
    case 'Json':
      return { dataType: 'jsonb' };
    case 'Bytes':
      return { dataType: 'bytea' };
    case 'DateTime':
      if (f.nativeType === 'Date') return { dataType: 'date' };
      if (f.nativeType === 'Timestamptz') return { dataType: 'timestamp with time zone' };
      return { dataType: 'timestamp without time zone' };
    default:
      throw new Error(`unknown Prisma type ${f.type}`);
  }
}
