/** Prints each benchmark's mean time as a ratio of the baseline measured in the same run. */
interface Measured {
  latency: { mean: number; p99?: number };
}

export function printRatios(title: string, results: { get(name: string): Measured | undefined }, baseline: string, names: string[]): void {
  const base = results.get(baseline)!.latency.mean;
  const lines = names.map((name) => {
    const mean = results.get(name)!.latency.mean;
    return `  ${name.padEnd(40)} ${(mean * 1000).toFixed(2).padStart(10)} µs   ${(mean / base).toFixed(3).padStart(8)}× baseline`;
  });
  console.log([`${title}: mean CPU time per call`, ...lines].join('\n'));
}
