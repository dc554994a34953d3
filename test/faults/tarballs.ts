/** Episode tarballs for the fault suite, good and hostile, built on the phase mix's test helpers. */
import { encodeTarEntry, TAR_END } from '../../src/generate/tar.js';
import { jsonl, tarHeader, tarPadding, tarZst, zstdOf } from '../support/phasemix.js';

const S = 1_000_000_000;

/** A well-formed episode: `labels` phase labels one second apart, and meta.json ending after them. */
export function buildEpisodeFixture(o: { labels: number }): Buffer {
  const labels = Array.from({ length: o.labels }, (_, i) => ({ phase: `p${i % 3}`, t_mono_ns: i * S }));
  return tarZst([
    { name: 'ep/meta.json', data: JSON.stringify({ t_mono_end_ns: o.labels * S }) },
    { name: 'ep/labels.jsonl', data: jsonl(labels) },
  ]);
}

const MiB = 1024 * 1024;

/** Hostile tarballs by name, with the phase-mix skip reason each must get (null: read fine). */
export function hostileTarballs(o: {
  bombBytes: number;
}): Array<{ name: string; data: Buffer; reason: string | null }> {
  const good = buildEpisodeFixture({ labels: 4 });
  const xs = Buffer.alloc(MiB, 'x');
  const labelsLine = 50 * MiB;
  return [
    { name: 'good', data: good, reason: null },
    { name: 'truncated', data: good.subarray(0, Math.floor(good.length / 2)), reason: 'truncated' },
    {
      name: 'not-zstd',
      data: Buffer.from('this is not a zstd frame at all\n'.repeat(100)),
      reason: 'not_zstd',
    },
    {
      name: 'zstd-not-tar',
      data: zstdOf([Buffer.from('plain text, no tar header\n'.repeat(1000))]),
      reason: 'not_tar',
    },
    {
      // Nothing is extracted to disk and labels match by basename (DESIGN §1): read, not followed.
      name: 'dotdot-members',
      data: tarZst([
        { name: '../../../../tmp/evil/meta.json', data: JSON.stringify({ t_mono_end_ns: 3 * S }) },
        { name: '../../labels.jsonl', data: jsonl([{ phase: 'p0', t_mono_ns: 0 }]) },
      ]),
      reason: null,
    },
    {
      name: 'absolute-members',
      data: tarZst([
        { name: '/etc/cis490-evil', data: 'x' },
        { name: '/abs/ep/labels.jsonl', data: jsonl([{ phase: 'p1', t_mono_ns: 0 }]) },
      ]),
      reason: null,
    },
    {
      // A decompression bomb in front of the labels: reading stops at the episode bound.
      name: 'zero-bomb',
      data: zstdOf([
        tarHeader('ep/telemetry.bin', o.bombBytes),
        { zeros: o.bombBytes },
        tarPadding(o.bombBytes),
        ...encodeTarEntry({ name: 'ep/labels.jsonl', data: jsonl([{ phase: 'p0', t_mono_ns: 0 }]) }),
        TAR_END,
      ]),
      reason: 'too_large',
    },
    {
      name: 'labels-one-50mib-line',
      data: zstdOf([
        tarHeader('ep/labels.jsonl', labelsLine),
        Buffer.from('{"phase":"'),
        ...Array.from({ length: 49 }, () => xs),
        Buffer.alloc(MiB - '{"phase":"'.length - 3, 'y'),
        Buffer.from('"}\n'),
        tarPadding(labelsLine),
        TAR_END,
      ]),
      reason: 'too_large',
    },
  ];
}
