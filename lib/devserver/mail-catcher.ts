/**
 * Built-in mail catcher for the zero-configuration dev run: an SMTP server (`smtp-server`) on
 * MAIL_CATCHER_PORT that accepts every message and stores it as an .eml file under <dataDir>/mail.
 * The app shows the inbox at /dev/mail (development only) so a person can click the signing link.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface MailCatcher {
  port: number;
  /** smtp://127.0.0.1:<port> — what SMTP_URL should be for the app and worker. */
  url: string;
  stop(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 60 * 1024 * 1024;

export async function startMailCatcher(opts: { port: number; dir: string; host?: string }): Promise<MailCatcher> {
  await mkdir(opts.dir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    banner: 'tachiai-sign mail catcher',
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        // <epoch ms>-<random>.eml sorts by arrival; write then rename so readers never see half a file.
        const id = `${Date.now().toString().padStart(14, '0')}-${randomBytes(4).toString('hex')}`;
        const tmp = path.join(opts.dir, `.${id}.tmp`);
        writeFile(tmp, Buffer.concat(chunks))
          .then(() => rename(tmp, path.join(opts.dir, `${id}.eml`)))
          .then(() => callback(), callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    url: `smtp://${host}:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
