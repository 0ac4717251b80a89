/** Password hashing: argon2id (@node-rs/argon2) with OWASP-recommended parameters. */
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id = 2 (a const enum in the typings; spelled out for isolatedModules).
const OPTIONS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Spend the same time as a real verification when the account does not exist. */
export async function verifyDummy(password: string): Promise<void> {
  dummy ??= hashPassword('tachiai-dummy-password');
  await verifyPassword(await dummy, password);
}
