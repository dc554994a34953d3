import { useEffect, useRef } from 'react';
import { useAlertLifecycle } from '../data/alert-lifecycle.js';

export const SOUND_KEY = 'cis490.alertSound';

/** The favicon with a red badge and the count of open critical alerts (a data: URL; CSP allows img data:). */
function badgeIcon(n: number): string {
  const label = n > 99 ? '99+' : String(n);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0e1116"/><rect x="6" y="18" width="5" height="8" fill="#4fc3f7"/><rect x="13.5" y="11" width="5" height="15" fill="#4fc3f7"/><rect x="21" y="6" width="5" height="20" fill="#4fc3f7"/><circle cx="22" cy="10" r="10" fill="#d32f2f"/><text x="22" y="14.5" font-family="sans-serif" font-size="${label.length > 1 ? 10 : 13}" font-weight="700" text-anchor="middle" fill="#fff">${label}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function beep(): void {
  try {
    const audio = new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.35);
    osc.onended = () => void audio.close();
  } catch {
    // No audio (autoplay policy, no device): the title and favicon still say it.
  }
}

/**
 * Open critical alerts in the tab title ("(2) Alerts · CIS490") and the favicon, and an opt-in
 * sound (localStorage `cis490.alertSound` = `on`) when a critical alert opens that was not open
 * before. Renders nothing.
 */
export function AlertSignals({ title }: { title: string }) {
  const { groups, counts } = useAlertLifecycle();
  const n = counts?.open_critical ?? 0;
  const seen = useRef<Set<string> | null>(null);

  useEffect(() => {
    document.title = n > 0 ? `(${n}) ${title} · CIS490` : `${title} · CIS490`;
    const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
    if (link) link.href = n > 0 ? badgeIcon(n) : '/favicon.svg';
    document.documentElement.dataset.openCritical = String(n);
  }, [n, title]);

  useEffect(() => {
    if (counts === null) return;
    const open = groups
      .filter((g) => g.state === 'open' && g.severity === 'critical')
      .map((g) => g.dedup_key ?? '');
    const before = seen.current;
    seen.current = new Set(open);
    if (before === null) return; // The first answer is the baseline, not news.
    const fresh = open.some((k) => !before.has(k));
    if (fresh && globalThis.localStorage?.getItem(SOUND_KEY) === 'on') beep();
  }, [groups, counts]);
  return null;
}
