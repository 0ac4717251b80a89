/**
 * lib/ops — operators' tasks over the database and the store: copying a store (`npm run storage:copy`),
 * backups and restores (`npm run backup` / `npm run restore`) and master-key rotation (`npm run key:rotate`).
 * See docs/operations.md.
 */
export { copyStore, copyObject, type CopyStoreOptions, type CopyStoreResult, type CopyFailure } from './copy-store';
export {
  rotateMasterKey,
  masterKeyStatus,
  type RotationOptions,
  type RotationResult,
  type RotationFailure,
  type MasterKeyStatus,
} from './rotate-master-key';
export { backup, directorySize, type BackupOptions, type BackupResult } from './backup';
export { restore, readBackup, verifyRestored, type RestoreOptions, type RestoreReport } from './restore';
export { BACKUP_FORMAT, BACKUP_VERSION, type BackupManifest, type BlobLine } from './backup-format';
