import { useCallback, useEffect, useState } from 'react';
import { hashFor, parseHash, type Route, type SceneId } from './routes.js';

/** The current hash route, following back/forward and links. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/**
 * Replaces the current scene's params in the URL (history.replaceState: a filter change is not a
 * page the back button should step through) and tells `useRoute` about it.
 */
export function useSetParams(scene: SceneId): (params: URLSearchParams) => void {
  return useCallback(
    (params: URLSearchParams) => {
      const hash = hashFor(scene, params);
      if (location.hash === hash) return;
      history.replaceState(null, '', hash);
      dispatchEvent(new HashChangeEvent('hashchange'));
    },
    [scene],
  );
}
