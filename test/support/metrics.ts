/**
 * One scrape of a server's `/metrics`, read by series: `value('input_lines_total', 'source="index"')`
 * is `cis490_dashboard_input_lines_total{source="index"}`, NaN when the series is absent.
 */
export async function scrapeMetrics(url: string): Promise<(name: string, labels?: string) => number> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return (name, labels = '') => {
    const key = `cis490_dashboard_${name}${labels ? `{${labels}}` : ''} `;
    const line = text.split('\n').find((l) => l.startsWith(key));
    return line ? Number(line.slice(key.length)) : Number.NaN;
  };
}
