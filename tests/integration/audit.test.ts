import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditNow, verifyAuditChain } from '../../lib/audit';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let orgId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  orgId = (await t.prisma.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } })).id;
});
afterAll(() => t?.drop());

describe('audit log', () => {
  it('chains events and detects tampering; the table refuses updates and deletes', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        recordAuditNow(t.prisma, { organizationId: orgId, actorType: 'system', action: 'test.event', details: { i } }),
      ),
    );
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
    const first = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: orgId }, orderBy: { id: 'asc' } });
    await expect(t.owner.auditEvent.update({ where: { id: first.id }, data: { action: 'x' } })).rejects.toThrow(/append-only/);
    await expect(t.owner.auditEvent.delete({ where: { id: first.id } })).rejects.toThrow(/append-only/);
    // Tamper behind the trigger's back (as a superuser could) and the chain check notices.
    await t.owner.$executeRawUnsafe('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
    await t.owner.$executeRawUnsafe(`UPDATE audit_events SET action = 'forged' WHERE id = ${first.id + 3n}`);
    expect(await verifyAuditChain(t.prisma, orgId)).toBe(first.id + 3n);
  });
});
