import type { LoadResult } from '../../bench/side-by-side/load-spec.js';
import type { Scenario } from '../../bench/side-by-side/scenarios.js';
import { combineRounds, notes, table, verdict } from '../../bench/side-by-side/table.js';

/** `npm run bench -- --rounds N`: how rounds become one row (bench/side-by-side/table.ts). */
const scenario: Scenario = { name: 'client_credentials', bare: true, target: { minRatio: 0.85, maxP99Ms: 50 }, prepare: async () => async () => result(0) };

function result(rps: number, extra: Partial<LoadResult> = {}): LoadResult {
  return { requests: rps * 10, rps, p50: 10, p99: 40, non2xx: 0, errors: 0, cpuMsPerRequest: 1000 / rps, ...extra };
}

test('one round is reported as it was measured', () => {
  const row = combineRounds(scenario, [{ ours: result(900), bare: result(1000) }]);
  expect(row).toEqual({ scenario, ours: result(900), bare: result(1000) });
  expect(verdict(row)).toEqual({ met: true, text: 'yes' });
});

test('several rounds: medians of each side, the median of the paired ratios, counts summed', () => {
  const row = combineRounds(scenario, [
    { ours: result(400, { p99: 60 }), bare: result(1000) }, // 0.40
    { ours: result(900, { p99: 30, non2xx: 2 }), bare: result(1000) }, // 0.90
    { ours: result(300, { p99: 45 }), bare: result(500) }, // 0.60
  ]);
  expect(row.ours).toMatchObject({ rps: 400, p99: 45, requests: 16_000, non2xx: 2 });
  expect(row.bare).toMatchObject({ rps: 1000, requests: 25_000 });
  // Not ours' median over bare's median (0.40): the pairs' own ratios, whose median is 0.60.
  expect(row.ratios).toEqual([0.4, 0.9, 0.6]);
  expect(table([row])).toContain('| 0.60× |');
  expect(verdict(row).text).toBe('NO (0.60× < 0.85×; 2 failed, 0 errors)');
  expect(notes([row])[0]).toBe('client_credentials: ours/bare by round 0.40×, 0.90×, 0.60× (the table shows medians)');
});

test('an even number of rounds takes the mean of the two middle values', () => {
  const row = combineRounds(scenario, [
    { ours: result(100), bare: result(1000) },
    { ours: result(300), bare: result(1000) },
  ]);
  expect(row.ours.rps).toBe(200);
  expect(row.ratios).toEqual([0.1, 0.3]);
  expect(verdict(row).text).toBe('NO (0.20× < 0.85×)');
});
