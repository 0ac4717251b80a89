import type { MessageKey, Translate } from '@/lib/i18n';

/** Status shown as text plus a symbol (never colour alone). */
const ENVELOPE: Record<string, { icon: string; cls: string }> = {
  draft: { icon: '□', cls: 'text-solid-gray-700' },
  sent: { icon: '→', cls: 'text-blue-1000' },
  in_progress: { icon: '…', cls: 'text-blue-1000' },
  sealing: { icon: '◇', cls: 'text-blue-1000' },
  completed: { icon: '◎', cls: 'text-green-800' },
  declined: { icon: '←', cls: 'text-error-2' },
  voided: { icon: '×', cls: 'text-error-2' },
  expired: { icon: '△', cls: 'text-error-2' },
};

export function EnvelopeStatusBadge({ status, tr }: { status: string; tr: Translate }) {
  const s = ENVELOPE[status] ?? { icon: '', cls: '' };
  return (
    <span className={`badge ${s.cls}`} data-status={status}>
      <span aria-hidden="true">{s.icon} </span>
      {tr(`status.${status}` as MessageKey)}
    </span>
  );
}

const PARTY: Record<string, { key: MessageKey; icon: string }> = {
  pending: { key: 'party.pending', icon: '・' },
  waiting: { key: 'party.notified', icon: '→' },
  opened: { key: 'party.opened', icon: '○' },
  completed: { key: 'party.completed', icon: '◎' },
  declined: { key: 'party.declined', icon: '←' },
};

export function PartyStatus({ status, role, tr }: { status: string; role: string; tr: Translate }) {
  if (role === 'cc') return <span className="text-solid-gray-700">{tr('party.cc')}</span>;
  const p = PARTY[status] ?? PARTY.pending;
  return (
    <span data-party-status={status}>
      <span aria-hidden="true">{p.icon} </span>
      {tr(p.key)}
    </span>
  );
}
