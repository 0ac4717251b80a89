/** Staff accounts (used by the seed, tests and later the admin pages). */
import type { Tx } from '../db';
import { hashPassword } from './password';

/** Works with the client or inside a transaction (`db.$transaction((tx) => createStaffUser(tx, …))`). */
export async function createStaffUser(
  db: Tx,
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
