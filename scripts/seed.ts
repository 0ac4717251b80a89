/**
 * Demo data for the zero-configuration run: the organisation 「川口市」 (slug kawaguchi) and its admin.
 * The admin's password is random and printed ONCE, when the account is created; only its argon2id
 * hash is stored. Lost it? `npx tsx scripts/seed.ts --reset-admin-password` prints a new one.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createStaffUser, hashPassword } from '../lib/auth';
import { createPrisma, type Db } from '../lib/db';

export const DEMO_ORG = { name: '川口市', slug: 'kawaguchi' } as const;
export const DEMO_ADMIN_EMAIL = 'admin@kawaguchi.example';

function randomPassword(): string {
  // 16 chars from an unambiguous alphabet (~94 bits).
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(32);
  let out = '';
  for (const b of bytes) {
    if (b < 57 * 4) out += alphabet[b % 57];
    if (out.length === 16) break;
  }
  return out;
}

export interface SeedResult {
  organizationId: string;
  adminEmail: string;
  /** Set only when the admin was created (or reset) now. */
  newPassword?: string;
}

export async function seedDemo(db: Db, opts: { resetAdminPassword?: boolean } = {}): Promise<SeedResult> {
  const org = await db.organization.upsert({
    where: { slug: DEMO_ORG.slug },
    update: {},
    create: { name: DEMO_ORG.name, slug: DEMO_ORG.slug },
  });
  const existing = await db.user.findUnique({ where: { email: DEMO_ADMIN_EMAIL } });
  if (!existing) {
    const password = randomPassword();
    await createStaffUser(db, {
      organizationId: org.id,
      email: DEMO_ADMIN_EMAIL,
      name: '川口 管理者',
      title: '総務部 契約課',
      role: 'admin',
      password,
    });
    return { organizationId: org.id, adminEmail: DEMO_ADMIN_EMAIL, newPassword: password };
  }
  if (opts.resetAdminPassword) {
    const password = randomPassword();
    await db.user.update({ where: { id: existing.id }, data: { passwordHash: await hashPassword(password), disabledAt: null } });
    await db.session.deleteMany({ where: { userId: existing.id } });
    return { organizationId: org.id, adminEmail: DEMO_ADMIN_EMAIL, newPassword: password };
  }
  return { organizationId: org.id, adminEmail: DEMO_ADMIN_EMAIL };
}

export function printCredentials(r: SeedResult): void {
  if (!r.newPassword) return;
  const line = '─'.repeat(60);
  console.log(
    `\n${line}\n デモ組織「${DEMO_ORG.name}」の管理者アカウント（この表示は一度だけです）\n` +
      `   メールアドレス: ${r.adminEmail}\n   パスワード:     ${r.newPassword}\n` +
      ` Demo admin for ${DEMO_ORG.name} — shown once; store it now.\n` +
      ` Reset: npm run dev -- --reset-admin-password\n${line}\n`,
  );
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set. `npm run dev` seeds the embedded database by itself.');
    process.exit(1);
  }
  const db = createPrisma(url, { max: 2 });
  try {
    printCredentials(await seedDemo(db, { resetAdminPassword: process.argv.includes('--reset-admin-password') }));
  } finally {
    await db.$disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
