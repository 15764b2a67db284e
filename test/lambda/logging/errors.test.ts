import { messageOf } from '../../../lambda/logging/errors';

describe('messageOf', () => {
  test('messageOf: a plain Error by its message, an SDK error with its name, anything else as text', () => {
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }))).toBe('ResourceNotFoundException: gone');
    expect(messageOf('text')).toBe('text');
    expect(messageOf(undefined)).toBe('undefined');
    expect(messageOf({ message: 'no name' })).toBe('no name');
  });
});
