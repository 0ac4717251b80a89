import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;
/** The client handed to a `$transaction(async (tx) => …)` callback. */
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

/** A Prisma client over node-postgres (no native engine). */
export function createPrisma(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString, max: opts.max ?? 10 });
  return new PrismaClient({ adapter });
}

const g = globalThis as unknown as { __tachiaiPrisma?: PrismaClient };

/** Process-wide client for DATABASE_URL (kept on globalThis so Next.js dev reloads reuse it). */
export function getPrisma(): PrismaClient {
  if (!g.__tachiaiPrisma) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set (npm run dev starts embedded PostgreSQL and sets it)');
    g.__tachiaiPrisma = createPrisma(url);
  }
  return g.__tachiaiPrisma;
}

export async function disconnectPrisma(): Promise<void> {
  if (g.__tachiaiPrisma) {
    await g.__tachiaiPrisma.$disconnect();
    g.__tachiaiPrisma = undefined;
  }
}
