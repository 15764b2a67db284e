import { AWSCURRENT, AWSPENDING } from '../../clients/secret-store';
import { sleep } from '../../clients/time-budget';
import { AstraApiError, RotationFailure } from '../../logging/errors';
import { parseSecretString } from '../../value/secret-value';
import { Rotation } from '../rotation';

export async function testSecret(rotation: Rotation): Promise<string> {
  const { store, event, report, redactor, config } = rotation;
  const text = await store.valueOf(event.secretId, { versionId: event.token, stage: AWSPENDING });
  if (text === undefined) {
    throw new RotationFailure('this AWSPENDING version has no value: createSecret has not stored a token.', 'Let Secrets Manager retry the rotation from createSecret.');
  }
  const pending = parseSecretString(text, 'AWSPENDING', redactor);
  report.clientIds.pending = pending.clientId;
  if (!pending.astraKey) {
    // Secrets Manager's configuration test (RotateImmediately false) runs testSecret alone on a copy of AWSCURRENT.
    const current = await store.valueOf(event.secretId, { versionId: rotation.currentVersionId, stage: AWSCURRENT });
    if (current === text) return 'nothing-to-test';
    throw new RotationFailure('this AWSPENDING version holds no "astraKey".', 'Let Secrets Manager retry the rotation from createSecret.');
  }

  // A new token may take a moment to be accepted everywhere: 401 is retried briefly, anything else fails at once.
  for (let attempt = 1; ; attempt++) {
    try {
      const org = await rotation.astra.currentOrg(pending.astraKey);
      if (pending.orgId && org.id && org.id !== pending.orgId) {
        throw new RotationFailure(`the new token belongs to organization ${org.id}, not ${pending.orgId} as recorded.`, 'Check ASTRA_API_URL and the admin token\'s organization.');
      }
      return 'tested';
    } catch (error) {
      const timeForAnother = rotation.budget.allows(config.testRetryDelayMs + config.httpTimeoutMs);
      if (error instanceof AstraApiError && error.status === 401 && attempt < config.testAttempts && timeForAnother) {
        await sleep(config.testRetryDelayMs);
        continue;
      }
      if (error instanceof AstraApiError && (error.status === 429 || !error.sent)) {
        // Not an answer about the token: it was not tested.
        throw new RotationFailure(`the new token ${pending.clientId ?? ''} could not be tested: ${error.message}.`, 'Rotation will be retried.');
      }
      if (error instanceof AstraApiError) {
        throw new RotationFailure(`the new token ${pending.clientId ?? ''} does not work: ${error.message}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}.`,
          'Check that the role grants access and that ASTRA_API_URL is the environment the token belongs to; rotation will be retried.');
      }
      throw error;
    }
  }
}
