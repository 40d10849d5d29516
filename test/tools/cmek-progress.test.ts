import { describe, expect, it } from 'vitest';
import { increasingProgress } from '../../src/tools/cmek-common.js';

describe('increasingProgress', () => {
  it('keeps values strictly increasing through repeats and regressions, below the next real step', async () => {
    const sent: number[] = [];
    const progress = increasingProgress(async (value) => {
      sent.push(value);
    });
    for (const done of [0, 0, 0, 1, 1, 0, 2, ...Array(1000).fill(2)]) await progress(done, 3, 'x');
    for (let i = 1; i < sent.length; i++) expect(sent[i]).toBeGreaterThan(sent[i - 1]!);
    expect(Math.max(...sent)).toBeLessThan(3);
    expect(sent.slice(0, 4)).toEqual([0, 0.5, expect.closeTo(2 / 3), 1]);
  });
});
