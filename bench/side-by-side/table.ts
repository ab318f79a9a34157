import type { LoadResult } from './load-spec.js';
import type { Scenario } from './scenarios.js';

export interface Row {
  scenario: Scenario;
  ours: LoadResult;
  bare?: LoadResult;
  /** With --rounds N > 1: ours/bare of each round (the row's results are the rounds' medians). */
  ratios?: number[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** One result standing for several rounds: medians of the rates, latencies and CPU, sums of the counts. */
function medianOf(results: LoadResult[]): LoadResult {
  const of = (pick: (r: LoadResult) => number | undefined) => {
    const values = results.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const tokenSteps = results.map((r) => r.tokenStep).filter((t) => t !== undefined);
  return {
    requests: sum(results.map((r) => r.requests)),
    rps: of((r) => r.rps)!,
    p50: of((r) => r.p50)!,
    p99: of((r) => r.p99)!,
    non2xx: sum(results.map((r) => r.non2xx)),
    errors: sum(results.map((r) => r.errors)),
    chainBroken: sum(results.map((r) => r.chainBroken ?? 0)) || undefined,
    cpuMsPerRequest: of((r) => r.cpuMsPerRequest),
    ...(tokenSteps.length ? { tokenStep: { p50: median(tokenSteps.map((t) => t.p50)), p99: median(tokenSteps.map((t) => t.p99)) } } : {}),
  };
}

/** The row of a scenario measured in one or more rounds (ours and bare back to back in each). */
export function combineRounds(scenario: Scenario, rounds: Array<{ ours: LoadResult; bare?: LoadResult }>): Row {
  if (rounds.length === 1) return { scenario, ...rounds[0]! };
  const bares = rounds.map((r) => r.bare).filter((b) => b !== undefined);
  return {
    scenario,
    ours: medianOf(rounds.map((r) => r.ours)),
    ...(bares.length ? { bare: medianOf(bares), ratios: rounds.map((r) => r.ours.rps / r.bare!.rps) } : {}),
  };
}

/** ours/bare: the median of the paired rounds' ratios, or the one round's. */
const ratioOf = ({ ours, bare, ratios }: Row): number | undefined => (ratios ? median(ratios) : bare ? ours.rps / bare.rps : undefined);

/** Whether the scenario's targets hold, with the number that decides when one does not. */
export function verdict(row: Row): { met: boolean; text: string } {
  const { scenario, ours } = row;
  const misses: string[] = [];
  const { minRatio, maxP99Ms } = scenario.target;
  const ratio = ratioOf(row);
  if (minRatio !== undefined && ratio !== undefined && ratio < minRatio) misses.push(`${ratio.toFixed(2)}× < ${minRatio}×`);
  if (maxP99Ms !== undefined && ours.p99 >= maxP99Ms) misses.push(`p99 ${ours.p99} ms ≥ ${maxP99Ms}`);
  if (ours.non2xx || ours.errors) misses.push(`${ours.non2xx} failed, ${ours.errors} errors`);
  if (misses.length) return { met: false, text: `NO (${misses.join('; ')})` };
  return minRatio === undefined && maxP99Ms === undefined ? { met: true, text: 'no target' } : { met: true, text: 'yes' };
}

const num = (value: number | undefined, digits = 0) => (value === undefined ? '—' : value.toFixed(digits));

/** A Markdown table (also readable in a terminal), one row per scenario. */
export function table(rows: Row[], subject = 'ours'): string {
  const head = ['scenario', `${subject} req/s`, 'p50 ms', 'p99 ms', 'bare req/s', 'p50 ms', 'p99 ms', `${subject}/bare`, `CPU ms/req ${subject} / bare`, 'target met'];
  const lines = rows.map((row) => {
    const { scenario, ours, bare } = row;
    const perSecond = (r: LoadResult) => num(r.rps, scenario.flows ? 1 : 0);
    return [
      scenario.name,
      perSecond(ours),
      num(ours.p50),
      num(ours.p99),
      bare ? perSecond(bare) : scenario.bare ? 'not run' : 'no equivalent',
      bare ? num(bare.p50) : '—',
      bare ? num(bare.p99) : '—',
      bare ? `${ratioOf(row)!.toFixed(2)}×` : '—',
      `${num(ours.cpuMsPerRequest, 2)} / ${bare ? num(bare.cpuMsPerRequest, 2) : '—'}`,
      verdict(row).text,
    ];
  });
  const render = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [render(head), render(head.map(() => '---')), ...lines.map(render)].join('\n');
}

/** Detail lines the table has no room for: failed requests, flow token-step latency, broken refresh chains. */
export function notes(rows: Row[], subject = 'ours'): string[] {
  const out: string[] = [];
  for (const { scenario, ours, bare, ratios } of rows) {
    if (ratios) out.push(`${scenario.name}: ${subject}/bare by round ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')} (the table shows medians)`);
    for (const [who, r] of [[subject, ours], ['bare', bare]] as const) {
      if (!r) continue;
      if (r.tokenStep) out.push(`${scenario.name}, ${who}: ${r.requests} flows; flow p50/p99 ${r.p50}/${r.p99} ms; code→token request p50/p99 ${r.tokenStep.p50}/${r.tokenStep.p99} ms`);
      if (r.non2xx || r.errors || r.chainBroken) {
        out.push(`${scenario.name}, ${who}: ${r.non2xx} non-2xx, ${r.errors} errors${r.chainBroken ? `, ${r.chainBroken} refresh chains broken` : ''}${r.statusCodes ? ` ${JSON.stringify(r.statusCodes)}` : ''}`);
      }
    }
  }
  return out;
}
