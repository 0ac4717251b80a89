/**
 * What the signing, sealing, download and archive integration tests share: a temporary DATA_DIR
 * (dev PKI + encrypted files), a database cloned from the migrated template, a real SMTP server and
 * the built-in TSA over real HTTP, with the seal job pointed at them.
 */
import { setSealingDefaults } from '../../lib/envelopes';
import { createDevKeyProvider } from '../../lib/pki';
import { createTsaClient, startTsaServer, type TsaServer } from '../../lib/tsa';
import { createTestDatabase, type TestDatabase } from './db';
import { useTempDataDir } from './fixtures';
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
