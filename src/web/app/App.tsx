import { type RefObject, useEffect, useRef, useState } from 'react';
import { setTimeZoneMode, timeZoneLabel, useTimeZoneMode } from '../data/timezone.js';
import { AlertsScene } from '../scenes/alerts/AlertsScene.js';
import { BaselineScene } from '../scenes/baseline/BaselineScene.js';
import { ExplorerScene } from '../scenes/explorer/ExplorerScene.js';
import { HostsScene } from '../scenes/hosts/HostsScene.js';
import { LiveScene } from '../scenes/live/LiveScene.js';
import { OverviewScene } from '../scenes/overview/OverviewScene.js';
import { AlertSignals } from './AlertSignals.js';
import { ConnectionIndicator } from './ConnectionIndicator.js';
import { ErrorBoundary } from './ErrorBoundary.js';
import { LivenessBanners, useLiveness } from './Liveness.js';
import { ReceiverPicker, ReceiverTag } from './ReceiverPicker.js';
import { hashFor, type KioskOptions, type Route, SCENE_TITLES, SCENES, type SceneId } from './routes.js';
import { useRoute } from './useRoute.js';

function Scene({ route, kiosk }: { route: Route; kiosk: boolean }) {
  switch (route.scene) {
    case 'overview':
      return <OverviewScene params={route.params} kiosk={kiosk} />;
    case 'hosts':
      return <HostsScene params={route.params} kiosk={kiosk} />;
    case 'explorer':
      return <ExplorerScene params={route.params} kiosk={kiosk} />;
    case 'baseline':
      return <BaselineScene />;
    case 'alerts':
      return <AlertsScene params={route.params} kiosk={kiosk} />;
    case 'live':
      return <LiveScene />;
    default: {
      const _never: never = route.scene;
      return null;
    }
  }
}

function Nav({ current }: { current: SceneId }) {
  return (
    <nav className="nav" aria-label="Scenes">
      {SCENES.map((scene) => (
        <a key={scene} href={hashFor(scene)} aria-current={scene === current ? 'page' : undefined}>
          {SCENE_TITLES[scene]}
        </a>
      ))}
    </nav>
  );
}

/** Hash routes own the fragment, so the skip link is a button that moves focus to the scene. */
function SkipLink() {
  return (
    <button type="button" className="skip-link" onClick={() => document.getElementById('main')?.focus()}>
      Skip to content
    </button>
  );
}

/** Which zone every time is in, and the switch to the other one. */
function TimeZoneToggle() {
  const tz = useTimeZoneMode();
  return (
    <button
      type="button"
      className="tz-toggle"
      onClick={() => setTimeZoneMode(tz === 'utc' ? 'local' : 'utc')}
      data-testid="tz-toggle"
      aria-label={`Times are in ${timeZoneLabel(tz)}; show them in ${tz === 'utc' ? 'local time' : 'UTC'}`}
    >
      {timeZoneLabel(tz)}
    </button>
  );
}

/** The interactive app: nav + the scene named by the hash. */
export function App() {
  const route = useRoute();
  const { live } = useLiveness();
  const tz = useTimeZoneMode();
  return (
    <div className="app">
      <AlertSignals title={SCENE_TITLES[route.scene]} />
      <SkipLink />
      <header className="topbar">
        <span className="brand">CIS490</span>
        <Nav current={route.scene} />
        <ReceiverPicker />
        <TimeZoneToggle />
        <ConnectionIndicator />
      </header>
      <LivenessBanners />
      <main
        key={tz}
        id="main"
        tabIndex={-1}
        className={`scene${live ? '' : ' is-stale'}`}
        data-scene={route.scene}
        data-live={live ? 'true' : 'false'}
      >
        <h1 className="scene-title">{SCENE_TITLES[route.scene]}</h1>
        <ErrorBoundary name={SCENE_TITLES[route.scene]}>
          <Scene route={route} kiosk={false} />
        </ErrorBoundary>
      </main>
    </div>
  );
}

/** Share of the screen a kiosk page step keeps from the page before, so no item is only ever cut in half. */
const PAGE_OVERLAP = 0.2;

/**
 * Pages a kiosk scene taller than the screen through its dwell: page p of n is shown from
 * p/n to (p+1)/n of the dwell, each step scrolling 80% of the screen. Recomputed 4 times a second,
 * so content that arrives late is paged too.
 */
function useKioskPaging(
  ref: RefObject<HTMLElement | null>,
  sceneIndex: number,
  dwellMs: number,
): { index: number; pages: number } {
  const [page, setPage] = useState({ index: 0, pages: 1 });
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new scene restarts the paging
  useEffect(() => {
    const start = Date.now();
    if (ref.current) ref.current.scrollTop = 0;
    const tick = (): void => {
      const el = ref.current;
      if (!el || el.clientHeight === 0) return;
      const step = el.clientHeight * (1 - PAGE_OVERLAP);
      const pages = 1 + Math.max(0, Math.ceil((el.scrollHeight - el.clientHeight - 1) / step));
      const index = Math.min(pages - 1, Math.floor(((Date.now() - start) / dwellMs) * pages));
      el.scrollTop = index * step;
      setPage((p) => (p.index === index && p.pages === pages ? p : { index, pages }));
    };
    const id = setInterval(tick, 250);
    return () => clearInterval(id);
  }, [sceneIndex, dwellMs, ref]);
  return page;
}

/**
 * The wall display: no nav, large type, scenes cycling every `dwellMs`. Nothing depends on hover;
 * reconnecting is the data source's job, so a server restart needs no human.
 */
export function KioskApp({ options }: { options: KioskOptions }) {
  const [index, setIndex] = useState(0);
  // Browsers grant full screen only after a gesture: the first tap or key on the wall display.
  useEffect(() => {
    const goFull = (): void => {
      if (!document.fullscreenElement) document.documentElement.requestFullscreen?.().catch(() => {});
    };
    addEventListener('pointerdown', goFull, { once: true });
    addEventListener('keydown', goFull, { once: true });
    return () => {
      removeEventListener('pointerdown', goFull);
      removeEventListener('keydown', goFull);
    };
  }, []);
  useEffect(() => {
    const id = setInterval(() => setIndex((i) => (i + 1) % options.scenes.length), options.dwellMs);
    return () => clearInterval(id);
  }, [options]);
  const scene = options.scenes[index % options.scenes.length] ?? 'overview';
  const { live } = useLiveness();
  const mainRef = useRef<HTMLElement>(null);
  const page = useKioskPaging(mainRef, index, options.dwellMs);
  return (
    <div className="app kiosk">
      <AlertSignals title={SCENE_TITLES[scene]} />
      <header className="topbar">
        <span className="brand">CIS490</span>
        <h1 className="kiosk-title">{SCENE_TITLES[scene]}</h1>
        <ReceiverTag />
        <ConnectionIndicator />
      </header>
      <LivenessBanners />
      <main
        id="main"
        ref={mainRef}
        className={`scene${live ? '' : ' is-stale'}`}
        data-scene={scene}
        data-live={live ? 'true' : 'false'}
        data-page={page.index + 1}
        data-pages={page.pages}
      >
        <ErrorBoundary name={SCENE_TITLES[scene]}>
          <Scene route={{ scene, params: new URLSearchParams() }} kiosk />
        </ErrorBoundary>
      </main>
      <footer className="kiosk-steps">
        <span className="kiosk-tz">times {timeZoneLabel()}</span>
        {options.scenes.map((s, i) => (
          <span key={s} className={i === index ? 'on' : undefined}>
            {SCENE_TITLES[s]}
            {i === index && page.pages > 1 ? ` ${page.index + 1}/${page.pages}` : ''}
          </span>
        ))}
      </footer>
    </div>
  );
}
