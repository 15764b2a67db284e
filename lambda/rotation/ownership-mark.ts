import { createHash } from 'node:crypto';

/**
 * The description every minted token carries: which secret (by a digest of its full ARN, so that one name in two
 * accounts, regions or partitions never collides) and which version it was minted for, plus the ARN's readable tail
 * for a person looking at the Astra Portal. The sweep finds a secret's tokens by it (docs/rotation-design.md, "Marks").
 */
export const MARK_PREFIX = 'cdk-astra-token-secret';
/** Astra documents no limit on descriptions; this keeps marks short enough for any reasonable one. */
export const MARK_MAX_LENGTH = 200;
const SECRET_DIGEST_LENGTH = 16;
const MINT_ID = /^[0-9a-f]{8}$/;
const MARK = new RegExp(`^${MARK_PREFIX} secret=([0-9a-f]{${SECRET_DIGEST_LENGTH}}) version=(\\S+)(?: mint=([0-9a-f]{8}))?(?: |$)`);

export interface OwnershipMark {
  readonly secretDigest: string;
  readonly version: string;
  /** The invocation that minted it (absent in marks made before it was recorded). */
  readonly mint?: string;
}

/** The digest that identifies a secret in its tokens' marks. */
export function secretDigest(secretArn: string): string {
  return createHash('sha256').update(secretArn).digest('hex').slice(0, SECRET_DIGEST_LENGTH);
}

/**
 * e.g. `cdk-astra-token-secret secret=3f9a0c1d2e4b5a6c version=0d6f… mint=5e1b09aa 123456789012:us-east-1:prod/app-AbCdEf`.
 * `mint` tells one invocation's tokens from another's on the same version: a duplicate invocation may be storing its own.
 */
export function ownershipMark(secretArn: string, version: string, mint?: string): string {
  if (mint !== undefined && !MINT_ID.test(mint)) throw new Error('a mint id is 8 hex digits');
  const head = `${MARK_PREFIX} secret=${secretDigest(secretArn)} version=${version}${mint ? ` mint=${mint}` : ''}`;
  // arn:<partition>:secretsmanager:<region>:<account>:secret:<name> -> <account>:<region>:<name>
  const parts = secretArn.split(':');
  const readable = parts.length >= 7 ? `${parts[4]}:${parts[3]}:${parts.slice(6).join(':')}` : secretArn;
  const room = MARK_MAX_LENGTH - head.length - 1;
  if (room < 8) return head.slice(0, MARK_MAX_LENGTH);
  return `${head} ${readable.length > room ? `${readable.slice(0, room - 1)}…` : readable}`;
}

export function parseMark(description: string | undefined): OwnershipMark | undefined {
  const match = description ? MARK.exec(description) : null;
  if (!match) return undefined;
  return match[3] ? { secretDigest: match[1], version: match[2], mint: match[3] } : { secretDigest: match[1], version: match[2] };
}
