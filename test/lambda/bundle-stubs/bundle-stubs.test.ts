import noSharedConfigFiles, { readFile } from '../../../lambda/bundle-stubs/no-shared-config-files';

describe('the bundle\'s stand-in for node:fs/promises', () => {
  test('answers every read as a missing file, which the SDK\'s config loader treats as "no config file"', async () => {
    await expect(readFile('/home/sbx_user1051/.aws/config')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(noSharedConfigFiles.readFile('/var/task/creds')).rejects.toThrow(/reads no shared config file \(\/var\/task\/creds\)/);
  });
});
