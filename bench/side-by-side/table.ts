import type { LoadResult } from './load-spec.js';
import type { Scenario } from './scenarios.js';

export interface Row {
  scenario: Scenario;
  ours: LoadResult;
  bare?: LoadResult;
}

/** Whether the scenario's targets hold, with the number that decides when one does not. */
export function verdict({ scenario, ours, bare }: Row): { met: boolean; text: string } {
  const misses: string[] = [];
  const { minRatio, maxP99Ms } = scenario.target;
  if (minRatio !== undefined && bare) {
    const ratio = ours.rps / bare.rps;
    if (ratio < minRatio) misses.push(`${ratio.toFixed(2)}× < ${minRatio}×`);
  }
  if (maxP99Ms !== undefined && ours.p99 >= maxP99Ms) misses.push(`p99 ${ours.p99} ms ≥ ${maxP99Ms}`);
  if (ours.non2xx || ours.errors) misses.push(`${ours.non2xx} failed, ${ours.errors} errors`);
  if (misses.length) return { met: false, text: `NO (${misses.join('; ')})` };
  return minRatio === undefined && maxP99Ms === undefined ? { met: true, text: 'no target' } : { met: true, text: 'yes' };
}

const num = (value: number | undefined, digits = 0) => (value === undefined ? '—' : value.toFixed(digits));

/** A Markdown table (also readable in a terminal), one row per scenario. */
export function table(rows: Row[]): string {
  const head = ['scenario', 'ours req/s', 'p50 ms', 'p99 ms', 'bare req/s', 'p50 ms', 'p99 ms', 'ours/bare', 'CPU ms/req ours / bare', 'target met'];
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
      bare ? `${(ours.rps / bare.rps).toFixed(2)}×` : '—',
      `${num(ours.cpuMsPerRequest, 2)} / ${bare ? num(bare.cpuMsPerRequest, 2) : '—'}`,
      verdict(row).text,
    ];
  });
  const render = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [render(head), render(head.map(() => '---')), ...lines.map(render)].join('\n');
}

/** Detail lines the table has no room for: failed requests, flow token-step latency, broken refresh chains. */
export function notes(rows: Row[]): string[] {
  const out: string[] = [];
  for (const { scenario, ours, bare } of rows) {
    for (const [who, r] of [['ours', ours], ['bare', bare]] as const) {
      if (!r) continue;
      if (r.tokenStep) out.push(`${scenario.name}, ${who}: ${r.requests} flows; flow p50/p99 ${r.p50}/${r.p99} ms; code→token request p50/p99 ${r.tokenStep.p50}/${r.tokenStep.p99} ms`);
      if (r.non2xx || r.errors || r.chainBroken) {
        out.push(`${scenario.name}, ${who}: ${r.non2xx} non-2xx, ${r.errors} errors${r.chainBroken ? `, ${r.chainBroken} refresh chains broken` : ''}${r.statusCodes ? ` ${JSON.stringify(r.statusCodes)}` : ''}`);
      }
    }
  }
  return out;
}
