/** Staff accounts (used by the seed, tests and later the admin pages). */
import type { Db } from '../db';
import { hashPassword } from './password';

export async function createStaffUser(
  db: Db,
  input: {
    organizationId: string;
    email: string;
    name: string;
    password: string;
    role?: 'staff' | 'admin';
    title?: string | null;
  },
) {
  return db.user.create({
    data: {
      organizationId: input.organizationId,
      email: input.email.trim().toLowerCase(),
      name: input.name,
      title: input.title ?? null,
      role: input.role ?? 'staff',
      passwordHash: await hashPassword(input.password),
    },
  });
}
