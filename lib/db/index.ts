export { createPrisma, getPrisma, disconnectPrisma, type Db, type Tx } from './client';
export { migrate, listMigrations, MIGRATIONS_DIR, type Migration } from './migrate';
export { Prisma } from '../generated/prisma/client';
export type * from '../generated/prisma/client';
