/**
 * What the signing, sealing, download and archive integration tests share: a temporary DATA_DIR
 * (dev PKI + encrypted files), a database cloned from the migrated template, a real SMTP server and
 * the built-in TSA over real HTTP, with the seal job pointed at them.
 */
import { expect } from 'vitest';
import type { Db } from '../../lib/db';
import { setSealingDefaults } from '../../lib/envelopes';
import { createDevKeyProvider, derToPem, getRootCertificate } from '../../lib/pki';
import { readBlob } from '../../lib/storage';
import { createTsaClient, startTsaServer, type TsaServer } from '../../lib/tsa';
import { createTestDatabase, type TestDatabase } from './db';
import { useTempDataDir } from './fixtures';
import { independentlyVerify } from './independent-verify';
import { startTestSmtp, type TestSmtpServer } from './smtp';

export interface SealingHarness {
  tdb: TestDatabase;
  smtp: TestSmtpServer;
  tsa: TsaServer;
  stop(): Promise<void>;
}

export async function startSealingHarness(): Promise<SealingHarness> {
  const data = await useTempDataDir();
  const tdb = await createTestDatabase();
  const smtp = await startTestSmtp();
  const tsa = await startTsaServer();
  setSealingDefaults({ keyProvider: createDevKeyProvider(), tsa: createTsaClient({ url: tsa.url }) });
  return {
    tdb,
    smtp,
    tsa,
    async stop() {
      setSealingDefaults({});
      await tsa.close();
      await smtp.close();
      await tdb.drop();
      await data.cleanup();
    },
  };
}

/**
 * Every sealed file of an envelope (documents + 合意締結証明書) checked by someone else's code:
 * pdfsig, `openssl cms -verify` and `openssl ts -verify` (see independent-verify.ts), trusting the dev root.
 */
export async function expectSealedFilesVerifyIndependently(db: Db, envelopeId: string): Promise<number> {
  const rootPem = derToPem(await getRootCertificate());
  const docs = await db.document.findMany({ where: { envelopeId }, select: { sealedBlobId: true } });
  const cert = await db.completionCertificate.findUniqueOrThrow({ where: { envelopeId }, select: { blobId: true } });
  const blobIds = [...docs.map((d) => d.sealedBlobId), cert.blobId];
  for (const id of blobIds) {
    expect(id).toBeTruthy();
    // The dev chain names an OCSP URL that pdfsig cannot reach here: 'lenient' (trust still checked by openssl).
    const ind = await independentlyVerify(await readBlob(db, id!), rootPem, { pdfsigTrust: 'lenient' });
    expect(ind.ok, ind.failures.join('; ')).toBe(true);
  }
  return blobIds.length;
}
