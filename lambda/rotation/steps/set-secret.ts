import { Rotation } from '../rotation';

/** Astra has no separate "set": the mint in createSecret already made the new token live. */
export async function setSecret(rotation: Rotation): Promise<string> {
  rotation.report.notes.push('nothing to do for Astra: the token was live as soon as createSecret minted it');
  return 'nothing-to-do';
}
