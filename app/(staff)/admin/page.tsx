import type { Metadata } from 'next';
import { getOrganizationSettings, listUsers } from '@/lib/admin';
import { getAuditVerificationStatus } from '@/lib/audit';
import { formatDateTimeWithWareki } from '@/lib/format';
import { getDb, getLocale, getRequestContext, getShowWareki, getTranslator, requireAdmin } from '../../_lib/server';
import { CreateUserForm, SettingsForm, UserRowActions } from './AdminForms';
import { AuditIntegrity } from './AuditIntegrity';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslator())('admin.title') };
}

/** 管理 (admins only; staff get 404): staff accounts and organisation settings (lib/admin). */
export default async function AdminPage() {
  const actor = await requireAdmin();
  const db = getDb();
  const [users, settings, locale, tr, wareki, ctx, auditStatus] = await Promise.all([
    listUsers(db, actor),
    getOrganizationSettings(db, actor),
    getLocale(),
    getTranslator(),
    getShowWareki(actor.organizationId),
    getRequestContext(),
    getAuditVerificationStatus(db, actor.organizationId),
  ]);
  return (
    <>
      <h1 className="mb-4 text-2xl font-bold">{tr('admin.title')}</h1>
      <section aria-labelledby="admin-users" className="mb-8">
        <h2 id="admin-users" className="mb-2 text-xl font-bold">
          {tr('admin.users')}
        </h2>
        <div className="mb-4 overflow-x-auto">
          <table className="table-dense" aria-label={tr('admin.users')}>
            <thead>
              <tr>
                <th scope="col">{tr('admin.col.name')}</th>
                <th scope="col">{tr('admin.col.email')}</th>
                <th scope="col">{tr('admin.col.title')}</th>
                <th scope="col">{tr('admin.col.role')}</th>
                <th scope="col">{tr('admin.col.status')}</th>
                <th scope="col">{tr('admin.col.lastLogin')}</th>
                <th scope="col">{tr('admin.col.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.name}
                    {u.id === actor.userId ? tr('admin.you') : ''}
                  </td>
                  <td>{u.email}</td>
                  <td>{u.title ?? ''}</td>
                  <td>{u.role === 'admin' ? tr('admin.role.admin') : tr('admin.role.staff')}</td>
                  <td>{u.disabledAt ? tr('admin.status.disabled') : tr('admin.status.active')}</td>
                  <td className="whitespace-nowrap">{u.lastLoginAt ? formatDateTimeWithWareki(u.lastLoginAt, wareki, locale) : tr('admin.never')}</td>
                  <td>
                    <UserRowActions
                      locale={locale}
                      isSelf={u.id === actor.userId}
                      user={{ id: u.id, email: u.email, role: u.role, disabled: Boolean(u.disabledAt), mfaEnabled: u.mfaEnabled }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <h3 className="mb-2 text-lg font-bold">{tr('admin.create.title')}</h3>
        <CreateUserForm locale={locale} />
      </section>
      <AuditIntegrity status={auditStatus} locale={locale} wareki={wareki} />
      <section aria-labelledby="admin-settings">
        <h2 id="admin-settings" className="mb-2 text-xl font-bold">
          {tr('admin.settings.title')}
        </h2>
        <SettingsForm locale={locale} settings={settings} currentIp={ctx.ip ?? '—'} />
      </section>
    </>
  );
}
