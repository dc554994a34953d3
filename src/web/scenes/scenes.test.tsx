import type { ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { type DashboardState, emptyState } from '../../protocol/index.js';
import { StoreContext } from '../data/hooks.js';
import { staticSource } from '../data/static-source.js';
import { createStore } from '../data/store.js';
import { BaselineScene } from './baseline/BaselineScene.js';
import { HostsScene } from './hosts/HostsScene.js';
import { LiveScene } from './live/LiveScene.js';
import { OverviewScene } from './overview/OverviewScene.js';

/** Renders a scene over the static data source (no server, no browser): what the markup says. */
function render(state: DashboardState | null, scene: ReactNode): string {
  const store = createStore((flush) => flush());
  if (state !== null) store.connect(staticSource(state));
  return renderToStaticMarkup(<StoreContext.Provider value={store}>{scene}</StoreContext.Provider>);
}

const hour = 3600_000;
const state: DashboardState = {
  ...emptyState(),
  ready: true,
  total_episodes: 1_234_567,
  total_bytes: 13_207_024_435,
  hosts_indexed: {
    'lab-fresh': { episodes: 10, bytes: 2048, last_received_at: new Date(Date.now() - 60_000).toISOString() },
    'lab-old': { episodes: 3, bytes: 1024, last_received_at: new Date(Date.now() - 5 * hour).toISOString() },
  },
  host_last_alert: {
    'lab-old': {
      host_id: 'lab-old',
      symptom: '<img src=x onerror=alert(1)>',
      detail: null,
      suggested_fix: null,
      detected_at: new Date().toISOString(),
      dedup_key: 'k',
    },
  },
};

describe('scenes over a static state', () => {
  it('say they are connecting instead of showing zeros before the first hello', () => {
    const html = render(null, <OverviewScene />);
    expect(html).toContain('Connecting to the dashboard server');
    expect(html).not.toContain('>0<');
  });

  it('Overview prints totals formatted', () => {
    const html = render(state, <OverviewScene />);
    expect(html).toContain('1,234,567');
    expect(html).toContain('12.3 GiB');
  });

  it('Hosts puts the sick host first with its status in words, and renders data-root text as text', () => {
    const html = render(state, <HostsScene params={new URLSearchParams()} kiosk={false} />);
    expect(html.indexOf('lab-old')).toBeLessThan(html.indexOf('lab-fresh'));
    expect(html).toMatch(/data-host="lab-old" data-status="critical"/);
    expect(html).toMatch(/data-host="lab-fresh" data-status="ok"/);
    expect(html).toContain('no episode for 5 h');
    const page = render(
      state,
      <HostsScene params={new URLSearchParams({ host: '<b>x</b>' })} kiosk={false} />,
    );
    expect(page).toContain('No host called &lt;b&gt;x&lt;/b&gt;');
    expect(page).not.toContain('<b>');
  });

  it('Hosts renders hosts named like Object.prototype members (issue 14 item 5)', () => {
    const odd = JSON.parse(
      '{"constructor":{"episodes":2,"bytes":10,"last_received_at":null},"__proto__":{"episodes":3,"bytes":20,"last_received_at":null},"toString":{"episodes":1,"bytes":5,"last_received_at":null}}',
    ) as DashboardState['hosts_indexed'];
    const html = render(
      { ...state, hosts_indexed: odd },
      <HostsScene params={new URLSearchParams()} kiosk={false} />,
    );
    for (const host of ['constructor', '__proto__', 'toString'])
      expect(html).toContain(`data-host="${host}"`);
    expect(html).not.toContain('native code');
  });

  it('Baseline says the mix is not computed yet rather than drawing an empty bar', () => {
    expect(render(state, <BaselineScene />)).toContain('has not been computed yet');
  });

  it('Baseline shows the eyebrow, sub-line counts and keeps failed out of the bar', () => {
    const totals = {
      counts: { boot: 2, run: 2, failed: 1 },
      weighted_seconds: { boot: 10, run: 30 },
      sampled_episodes: 2,
      total_labels: 5,
    };
    const html = render(
      {
        ...state,
        phase_mix: {
          ...totals,
          population_episodes: 7,
          per_host: { h1: { ...totals, population_episodes: 7 } },
          skipped: {},
          computed_at: new Date().toISOString(),
          mode: 'all',
        },
      },
      <BaselineScene />,
    );
    expect(html).toContain('time-weighted');
    expect(html).toContain('75.0%');
    expect(html).toMatch(/data-testid="mix-population">7</);
    expect(html).toMatch(/class="mix-seg" data-phase="run"/);
    expect(html).not.toMatch(/class="mix-seg" data-phase="failed"/);
  });

  it('a host page shows its phase mix by the Baseline’s rule: failed apart, label counts without durations', () => {
    // lab-old's host page over a mix where lab-old has these label counts and seconds.
    const page = (counts: Record<string, number>, weighted_seconds: Record<string, number>) => {
      const totals = { counts, weighted_seconds, sampled_episodes: 3, total_labels: 4 };
      const mixed: DashboardState = {
        ...state,
        phase_mix: {
          ...totals,
          population_episodes: 5,
          per_host: { 'lab-old': { ...totals, population_episodes: 5 } },
          skipped: {},
          computed_at: new Date().toISOString(),
          mode: 'all',
        },
      };
      return render(mixed, <HostsScene params={new URLSearchParams('host=lab-old')} kiosk={false} />);
    };
    // A `failed` label without a duration: not "failed: 0.0%", and not in the denominator.
    const timed = page({ boot: 1, run: 1, failed: 2 }, { boot: 10, run: 30, failed: 0 });
    expect(timed).toContain('Time-weighted');
    expect(timed).toContain('75.0%');
    expect(timed).not.toContain('0.0%');
    expect(timed).toMatch(/class="apart" data-phase="failed"/);
    expect(timed).toContain('2 labels');
    // Labels with no durations at all: counted, not "No phase mix for this host yet".
    const counted = page({ boot: 1, run: 3 }, {});
    expect(counted).toContain('By label count (no durations)');
    expect(counted).toContain('75.0%');
    expect(counted).not.toContain('No phase mix for this host yet');
  });

  it('Live is honest when no orchestrator sends, and shows a host’s phase when one does', () => {
    expect(render(state, <LiveScene />)).toContain('No orchestrator is sending phase events');
    const html = render(
      {
        ...state,
        live_phases: {
          h1: {
            host_id: 'h1',
            episode_id: null,
            phase: 'infecting',
            at: new Date(Date.now() - 180_000).toISOString(),
          },
        },
      },
      <LiveScene />,
    );
    expect(html).toContain('infecting');
    expect(html).toContain('for 3 min');
  });
});
