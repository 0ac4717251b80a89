/**
 * The development mailbox's exposure rules: only from this machine (socket peer on loopback), never in
 * production; `npm run dev` listens on 127.0.0.1 unless HOST says otherwise; DEV_MAILBOX cannot be
 * switched on in production.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { devPageAllowed, isDevPath, isLoopbackAddress } from '../../lib/devserver';

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '[::1]'])('%s is this machine', (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
  });
  it.each(['192.0.2.2', '::ffff:192.0.2.2', '10.0.0.1', 'fd00::2', '::', '::2', '0.0.0.0', '1.127.0.0', 'localhost', '', null, undefined])(
    '%s is not',
    (a) => {
      expect(isLoopbackAddress(a)).toBe(false);
    },
  );
});

describe('development pages', () => {
  it('are the /dev paths, however spelled', () => {
    for (const p of ['/dev/mail', '/dev', '/dev/mail/1?_rsc=x', '//dev/mail', '/%64ev/mail', '/Dev/Mail']) expect(isDevPath(p), p).toBe(true);
    for (const p of ['/devices', '/api/dev', '/envelopes', '/']) expect(isDevPath(p), p).toBe(false);
  });

  it('answer only to a loopback peer, and never in production', () => {
    expect(devPageAllowed({ production: false, peer: '127.0.0.1' })).toBe(true);
    expect(devPageAllowed({ production: false, peer: '::1' })).toBe(true);
    expect(devPageAllowed({ production: false, peer: '192.0.2.2' })).toBe(false);
    expect(devPageAllowed({ production: false, peer: undefined })).toBe(false);
    expect(devPageAllowed({ production: true, peer: '127.0.0.1' })).toBe(false);
  });
});

describe('configuration', () => {
  it('HOST: 127.0.0.1 in development, every interface in production, else as set (* = every interface)', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).listenHost).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'production' }).listenHost).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'development', HOST: '0.0.0.0' }).listenHost).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'production', HOST: '10.0.0.5' }).listenHost).toBe('10.0.0.5');
    expect(loadConfig({ NODE_ENV: 'development', HOST: '*' }).listenHost).toBeUndefined();
  });

  it('the mailbox: on in development with the catcher, off with SMTP_URL or DEV_MAILBOX=false, refused in production', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).devMailbox).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', SMTP_URL: 'smtp://mail.example:25' }).devMailbox).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development', SMTP_URL: 'smtp://127.0.0.1:1025', DEV_MAILBOX: 'true' }).devMailbox).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', DEV_MAILBOX: 'false' }).devMailbox).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production' }).devMailbox).toBe(false);
    expect(() => loadConfig({ NODE_ENV: 'production', DEV_MAILBOX: 'true' })).toThrow(/DEV_MAILBOX cannot be on in production/);
  });
});
