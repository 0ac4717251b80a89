export { createPrisma, getPrisma, disconnectPrisma, type Db, type Tx } from './client';
export { migrate, listMigrations, MIGRATIONS_DIR, type Migration } from './migrate';
export {
  prepareDatabase,
  ensureAppRole,
  grantAppPrivileges,
  appPrivilegesSql,
  appRoleProblems,
  urlRole,
  withRole,
  APPEND_ONLY_TABLES,
  type PrepareDatabaseResult,
} from './roles';
export { Prisma } from '../generated/prisma/client';
export type * from '../generated/prisma/client';
