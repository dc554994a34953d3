/** The scenes, in nav and kiosk order. */
export const SCENES = ['overview', 'hosts', 'explorer', 'baseline', 'alerts', 'live'] as const;
export type SceneId = (typeof SCENES)[number];

export const SCENE_TITLES: Record<SceneId, string> = {
  overview: 'Overview',
  hosts: 'Hosts',
  explorer: 'Explorer',
  baseline: 'Baseline',
  alerts: 'Alerts',
  live: 'Live',
};

export function isScene(value: string): value is SceneId {
  return (SCENES as readonly string[]).includes(value);
}

export interface Route {
  scene: SceneId;
  /** The query after `#/<scene>?`: scene state a link can share (the Explorer's filter, say). */
  params: URLSearchParams;
}

/** `#/explorer?host=a` → explorer + params; anything unknown (or `/`) opens Overview. */
export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const name = q === -1 ? body : body.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : body.slice(q + 1));
  return { scene: isScene(name) ? name : 'overview', params };
}

export function hashFor(scene: SceneId, params?: URLSearchParams): string {
  const query = params?.toString() ?? '';
  return `#/${scene}${query ? `?${query}` : ''}`;
}

export interface KioskOptions {
  scenes: SceneId[];
  dwellMs: number;
}

/** `?kiosk[&scenes=overview,hosts][&dwell=20]` → the rotation; null when not in kiosk mode. */
export function parseKiosk(search: string): KioskOptions | null {
  const params = new URLSearchParams(search);
  if (!params.has('kiosk')) return null;
  const listed = (params.get('scenes') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(isScene);
  const dwell = Number(params.get('dwell'));
  return {
    // The default rotation is every scene, in nav order (as the README says).
    scenes: listed.length > 0 ? listed : [...SCENES],
    // Seconds; at least one so a typo cannot turn the wall into a strobe.
    dwellMs: Number.isFinite(dwell) && dwell >= 1 ? dwell * 1000 : 20_000,
  };
}
