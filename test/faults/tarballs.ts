/** Episode tarballs for the fault suite, good and hostile, built on the phase mix's test helpers. */
import { jsonl, tarZst } from '../../src/phasemix/testing.js';

const S = 1_000_000_000;

/** A well-formed episode: `labels` phase labels one second apart, and meta.json ending after them. */
export function buildEpisodeFixture(o: { labels: number }): Buffer {
  const labels = Array.from({ length: o.labels }, (_, i) => ({ phase: `p${i % 3}`, t_mono_ns: i * S }));
  return tarZst([
    { name: 'ep/meta.json', data: JSON.stringify({ t_mono_end_ns: o.labels * S }) },
    { name: 'ep/labels.jsonl', data: jsonl(labels) },
  ]);
}
