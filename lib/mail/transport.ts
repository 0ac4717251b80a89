/**
 * nodemailer transport from SMTP_URL; without it (development, tests) the built-in mail catcher
 * at smtp://127.0.0.1:MAIL_CATCHER_PORT (started by the dev runner).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { getConfig } from '../config';

export type MailTransport = Pick<Transporter, 'sendMail'> & { close?: () => void };

export function smtpUrl(): string {
  const c = getConfig();
  return c.SMTP_URL ?? `smtp://127.0.0.1:${c.MAIL_CATCHER_PORT}`;
}

/** A transport for an smtp(s):// URL, with short timeouts so an outage fails fast and is retried. */
export function createSmtpTransport(url: string): Transporter {
  return nodemailer.createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
}

let cached: { url: string; transport: Transporter } | undefined;

/** The process-wide transport for the configured SMTP server. */
export function getMailTransport(): Transporter {
  const url = smtpUrl();
  if (!cached || cached.url !== url) {
    cached?.transport.close();
    cached = { url, transport: createSmtpTransport(url) };
  }
  return cached.transport;
}

/** Remove credentials and long tokens from an error message before it is stored or logged. */
export function redactError(message: string): string {
  return message
    .replace(/([a-z]+:\/\/)[^@\s/]+@/gi, '$1***@')
    .replace(/\/sign\/[A-Za-z0-9_-]{16,}/g, '/sign/***')
    .replace(/[A-Za-z0-9_-]{40,}/g, '***')
    .slice(0, 1000);
}
