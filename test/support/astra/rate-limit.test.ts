import { RateLimit } from './rate-limit';

test('GIVEN 5 calls a second WHEN a sixth comes within the second THEN it is refused, and one a second later is not', () => {
  const limit = new RateLimit(5, 1);
  for (let i = 0; i < 5; i++) expect(limit.refuses(10_000 + i)).toBe(false);
  expect(limit.refuses(10_500)).toBe(true);
  expect(limit.refuses(11_001)).toBe(false);
});

test('GIVEN calls stamped by a clock a test moved forward WHEN the clock is restored THEN they count for nothing', () => {
  const limit = new RateLimit(5, 1);
  for (let i = 0; i < 5; i++) expect(limit.refuses(110_000 + i)).toBe(false);
  expect(limit.refuses(10_000)).toBe(false);
});
