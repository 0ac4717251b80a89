'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import {
  createDraft,
  removeDocument,
  resendRequest,
  retrySealing,
  sendEnvelope,
  setRecipients,
  updateDraft,
  voidEnvelope,
} from '@/lib/envelopes';
import { isAppError } from '@/lib/errors';
import { getDb, getRequestContext, requireStaff } from '../../_lib/server';

export interface PartyRow {
  kind: 'supplier' | 'municipal' | 'cc';
  name: string;
  email: string;
  title: string;
  company: string;
}

const partySchema = z.object({
  kind: z.enum(['supplier', 'municipal', 'cc']),
  name: z.string().max(1000),
  email: z.string().max(1000),
  title: z.string().max(1000),
  company: z.string().max(1000),
});

const draftSchema = z.object({
  id: z.uuid().nullable(),
  envelope: z.object({
    title: z.string().max(10_000),
    counterparty: z.string().max(10_000),
    transactionDate: z.string().max(100),
    amount: z.string().max(100),
    amountTaxIncluded: z.boolean(),
    contractNumber: z.string().max(10_000),
    message: z.string().max(100_000),
  }),
  sequential: z.boolean(),
  parties: z.array(partySchema).max(100),
});
export type DraftPayload = z.infer<typeof draftSchema>;

export type ActionResult =
  | { ok: true; id: string }
  | { ok: false; id: string | null; error: string; fieldErrors?: Record<string, string> };

/** Parties → lib recipients: signers first in the shown order (sequential: 1, 2, 3…; parallel: all 1), then cc. */
function toRecipients(parties: PartyRow[], sequential: boolean) {
  let order = 0;
  return parties.map((p) => {
    const signer = p.kind !== 'cc';
    if (signer) order++;
    return {
      role: signer ? ('signer' as const) : ('cc' as const),
      partyType: p.kind === 'municipal' ? ('municipal' as const) : ('supplier' as const),
      order: signer && sequential ? order : 1,
      name: p.name,
      email: p.email,
      title: p.title,
      company: p.company,
    };
  });
}

async function save(payload: unknown): Promise<ActionResult> {
  const actor = await requireStaff();
  const ctx = await getRequestContext();
  const parsed = draftSchema.safeParse(payload);
  if (!parsed.success) return { ok: false, id: null, error: '入力内容を読み取れませんでした。画面を再読み込みしてください。' };
  const p = parsed.data;
  const db = getDb();
  let id = p.id;
  try {
    if (id) await updateDraft(db, actor, id, p.envelope, ctx);
    else id = (await createDraft(db, actor, p.envelope, ctx)).id;
    await setRecipients(db, actor, id, toRecipients(p.parties, p.sequential), ctx);
    return { ok: true, id };
  } catch (e) {
    if (isAppError(e)) return { ok: false, id, error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
}

export async function saveDraftAction(payload: DraftPayload): Promise<ActionResult> {
  const r = await save(payload);
  if (r.ok) revalidatePath(`/envelopes/${r.id}`);
  return r;
}

export async function sendAction(payload: DraftPayload): Promise<ActionResult> {
  const r = await save(payload);
  if (!r.ok) return r;
  const actor = await requireStaff();
  try {
    await sendEnvelope(getDb(), actor, r.id, await getRequestContext());
  } catch (e) {
    if (isAppError(e)) return { ok: false, id: r.id, error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
  redirect(`/envelopes/${r.id}?notice=sent`);
}

/** Create the draft from its fields only (used when files are dropped before the first save). */
export async function createDraftAction(envelope: DraftPayload['envelope']): Promise<ActionResult> {
  const actor = await requireStaff();
  const parsed = draftSchema.shape.envelope.safeParse(envelope);
  if (!parsed.success) return { ok: false, id: null, error: '入力内容を読み取れませんでした。画面を再読み込みしてください。' };
  try {
    const env = await createDraft(getDb(), actor, parsed.data, await getRequestContext());
    return { ok: true, id: env.id };
  } catch (e) {
    if (isAppError(e)) return { ok: false, id: null, error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
}

const idsSchema = z.object({ envelopeId: z.uuid(), documentId: z.uuid() });

export async function removeDocumentAction(input: { envelopeId: string; documentId: string }): Promise<{ ok: boolean; error?: string }> {
  const actor = await requireStaff();
  const p = idsSchema.safeParse(input);
  if (!p.success) return { ok: false, error: '文書が見つかりません。' };
  try {
    await removeDocument(getDb(), actor, p.data.envelopeId, p.data.documentId, await getRequestContext());
    return { ok: true };
  } catch (e) {
    if (isAppError(e)) return { ok: false, error: e.message };
    throw e;
  }
}

const resendSchema = z.object({ envelopeId: z.uuid(), recipientId: z.uuid() });

export async function resendAction(form: FormData): Promise<void> {
  const actor = await requireStaff();
  const p = resendSchema.safeParse({ envelopeId: form.get('envelopeId'), recipientId: form.get('recipientId') });
  if (!p.success) redirect('/envelopes');
  let error: string | null = null;
  try {
    await resendRequest(getDb(), actor, p.data.envelopeId, p.data.recipientId, await getRequestContext());
  } catch (e) {
    if (!isAppError(e)) throw e;
    if (e.code === 'not_found') throw e;
    error = e.message;
  }
  redirect(`/envelopes/${p.data.envelopeId}?${error ? `error=${encodeURIComponent(error)}` : 'notice=resent'}`);
}

export interface VoidState {
  error?: string;
  fieldError?: string;
}

export async function voidAction(_prev: VoidState, form: FormData): Promise<VoidState> {
  const actor = await requireStaff();
  const id = z.uuid().safeParse(form.get('envelopeId'));
  if (!id.success) return { error: '封筒が見つかりません。' };
  try {
    await voidEnvelope(getDb(), actor, id.data, String(form.get('reason') ?? ''), await getRequestContext());
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldError: e.fieldErrors?.reason };
    throw e;
  }
  redirect(`/envelopes/${id.data}?notice=voided`);
}

/** Staff retry of a seal job that ran out of attempts (see lib/envelopes retrySealing). */
export async function retrySealAction(form: FormData): Promise<void> {
  const actor = await requireStaff();
  const id = z.uuid().safeParse(form.get('envelopeId'));
  if (!id.success) redirect('/envelopes');
  let error: string | null = null;
  try {
    await retrySealing(getDb(), actor, id.data, await getRequestContext());
  } catch (e) {
    if (!isAppError(e)) throw e;
    if (e.code === 'not_found') throw e;
    error = e.message;
  }
  redirect(`/envelopes/${id.data}?${error ? `error=${encodeURIComponent(error)}` : 'notice=seal_retried'}`);
}
