/**
 * A real SMTP server for tests (`smtp-server`), collecting every message parsed with `mailparser`.
 * `stop()` / `start()` simulate an outage: the server comes back on the same port, so a transport
 * configured with `url` keeps working after the restart.
 *
 *   const smtp = await startTestSmtp();
 *   await deliverDueEmails(db, { transport: smtp.transport() });
 *   const mail = await smtp.waitFor((m) => m.to.includes('a@example.jp'));
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import nodemailer, { type Transporter } from 'nodemailer';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** SMTP envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  /** SMTP envelope sender (MAIL FROM). */
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** The From: header as written. */
  fromHeader: string;
  raw: Buffer;
  parsed: ParsedMail;
  receivedAt: Date;
}

export interface TestSmtpServer {
  readonly port: number;
  /** smtp://127.0.0.1:port — put it in SMTP_URL or pass to createSmtpTransport. */
  readonly url: string;
  readonly messages: ReceivedMail[];
  readonly running: boolean;
  /** A nodemailer transport pointing at this server (no pooling, short timeouts). */
  transport(): Transporter;
  /** Resolves with the first (already received or future) message matching the predicate. */
  waitFor(predicate?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  clear(): void;
  /** Simulate an outage: close the listener (connections are refused until start()). */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Stop for good. */
  close(): Promise<void>;
}

function addressText(a: AddressObject | AddressObject[] | undefined): string {
  if (!a) return '';
  return Array.isArray(a) ? a.map((x) => x.text).join(', ') : a.text;
}

export interface TestSmtpOptions {
  port?: number;
  /** Refuse these RCPT TO addresses with "550 mailbox unavailable" (a permanent failure). */
  rejectRecipient?: (address: string) => boolean;
}

export async function startTestSmtp(opts: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const waiters: { pred: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];
  let server: SMTPServer | undefined;
  let port = opts.port ?? 0;
  const transports: Transporter[] = [];

  const create = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      banner: 'tachiai test smtp',
      size: 60 * 1024 * 1024,
      onRcptTo(address, _session, callback) {
        if (opts.rejectRecipient?.(address.address.toLowerCase())) {
          const err = new Error('mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          return callback(err);
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', callback);
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw)
            .then((parsed) => {
              const mail: ReceivedMail = {
                to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                messageId: parsed.messageId ?? '',
                fromHeader: addressText(parsed.from),
                raw,
                parsed,
                receivedAt: new Date(),
              };
              messages.push(mail);
              for (const w of [...waiters]) {
                if (w.pred(mail)) {
                  waiters.splice(waiters.indexOf(w), 1);
                  w.resolve(mail);
                }
              }
              callback();
            })
            .catch((e: Error) => callback(e));
        });
      },
    });

  const listen = async () => {
    const s = create();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => undefined);
    port = (s.server.address() as AddressInfo).port;
    server = s;
  };

  const stopServer = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();

  return {
    get port() {
      return port;
    },
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    messages,
    get running() {
      return server !== undefined;
    },
    transport() {
      const t = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure: false,
        ignoreTLS: true,
        connectionTimeout: 5_000,
        greetingTimeout: 5_000,
        socketTimeout: 10_000,
      });
      transports.push(t);
      return t;
    },
    waitFor(predicate = () => true, timeoutMs = 15_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const w = {
          pred: predicate,
          resolve: (m: ReceivedMail) => {
            clearTimeout(t);
            resolve(m);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching email within ${timeoutMs} ms (received ${messages.length})`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    clear() {
      messages.length = 0;
    },
    stop: stopServer,
    async start() {
      if (!server) await listen();
    },
    async close() {
      for (const t of transports) t.close();
      await stopServer();
    },
  };
}

/** Every http(s) URL in a text body. */
export function urlsIn(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s<>"')]+/g)].map((m) => m[0]);
}

/** The token of the first /sign/<token> URL in a text body. */
export function signingTokenIn(text: string): string | undefined {
  return /\/sign\/([A-Za-z0-9_-]{32,128})/.exec(text)?.[1];
}
