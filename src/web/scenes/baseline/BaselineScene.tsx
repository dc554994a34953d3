import { useMemo } from 'react';
import { SceneGate } from '../../app/SceneGate.js';
import { Notice, Widget } from '../../app/Widget.js';
import { formatAgo, formatCount, formatPlural } from '../../data/format.js';
import { useHostLabel, useNow, useStore } from '../../data/hooks.js';
import { usePhaseColor } from '../../ui/phase-colors.js';
import { MixBarView } from './MixBarView.js';
import { mixBar } from './mix.js';

function Mix() {
  const mix = useStore((s) => s.state.phase_mix);
  const label = useHostLabel();
  const now = useNow(10_000);
  const color = usePhaseColor();
  const bar = useMemo(() => (mix ? mixBar(mix) : null), [mix]);
  const hosts = useMemo(
    () =>
      mix
        ? Object.entries(mix.per_host)
            .sort((a, b) => a[0].localeCompare(b[0]))
            .map(([host, totals]) => ({ host, totals, bar: mixBar(totals) }))
        : [],
    [mix],
  );
  if (mix === null || bar === null) {
    return (
      <Notice kind="loading" title="The phase mix has not been computed yet">
        It is read from the episodes' labels once the first pass over the data root is done.
      </Notice>
    );
  }
  const eyebrow = `Phase mix · ${bar.basis === 'time' ? 'time-weighted' : 'by label count (no durations)'} · ${
    mix.mode === 'all' ? 'whole population' : `sample of ${formatCount(mix.mode)}`
  }`;
  return (
    <>
      <Widget title="Dataset phase mix" className="span-all" testId="phase-mix">
        <p className="eyebrow" data-testid="mix-eyebrow">
          {eyebrow}
        </p>
        {bar.denominator === 0 ? (
          <Notice kind="empty" title="No labelled phases yet">
            {formatCount(mix.population_episodes)} episodes on disk, none with labels so far.
          </Notice>
        ) : (
          <MixBarView bar={bar} color={color} />
        )}
        <p className="subline" data-testid="mix-subline">
          <span data-testid="mix-sampled">{formatCount(mix.sampled_episodes)}</span> sampled of{' '}
          <span data-testid="mix-population">{formatCount(mix.population_episodes)}</span> episodes ·{' '}
          <span data-testid="mix-labels">{formatCount(mix.total_labels)}</span> labels · computed{' '}
          {formatAgo(mix.computed_at, now)}
        </p>
      </Widget>
      <Widget title="Per host" aside={formatPlural(hosts.length, 'host')} className="span-all">
        {hosts.length === 0 ? (
          <Notice kind="empty" title="No per-host breakdown" />
        ) : (
          <div className="multiples">
            {hosts.map(({ host, totals, bar: hostBar }) => (
              <div key={host} className="multiple" data-host={host}>
                <h3>{label(host)}</h3>
                <MixBarView bar={hostBar} color={color} compact />
                <p className="muted">
                  {formatCount(totals.sampled_episodes)} of {formatCount(totals.population_episodes)} episodes
                  · {formatPlural(totals.total_labels, 'label')}
                </p>
              </div>
            ))}
          </div>
        )}
      </Widget>
    </>
  );
}

export function BaselineScene() {
  return (
    <SceneGate>
      <div className="grid">
        <Mix />
      </div>
    </SceneGate>
  );
}
