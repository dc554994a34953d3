import { useMemo } from 'react';
import { useStore } from '../data/hooks.js';

/** Colour-blind-friendly palette (Okabe–Ito plus a few), readable on dark and light backgrounds. */
const PALETTE = [
  '#56b4e9',
  '#e69f00',
  '#009e73',
  '#f0e442',
  '#cc79a7',
  '#0072b2',
  '#d55e00',
  '#8dd3c7',
  '#bebada',
  '#fb8072',
  '#b3de69',
  '#fccde5',
];
export const FAILED_COLOR = '#e5484d';

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export type PhaseColor = (phase: string) => string;

/**
 * Colours for a set of phases: each phase starts at the slot its name hashes to and moves on to the
 * next free one, taken in name order, so two phases never share a colour (while the palette lasts)
 * and the mapping depends only on the set of phase names: the same on every host, every scene and
 * every reload. `failed` is always red; a phase outside the set gets its hash slot.
 */
export function phaseColors(phases: Iterable<string>): PhaseColor {
  const assigned = new Map<string, string>();
  const used = new Set<number>();
  for (const phase of [...new Set(phases)].sort()) {
    if (phase === 'failed') continue;
    let slot = hash(phase) % PALETTE.length;
    for (let tries = 0; used.has(slot) && tries < PALETTE.length; tries++) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    assigned.set(phase, PALETTE[slot] ?? '#888888');
  }
  return (phase) =>
    phase === 'failed'
      ? FAILED_COLOR
      : (assigned.get(phase) ?? PALETTE[hash(phase) % PALETTE.length] ?? '#888888');
}

/** The colour function for every phase the dashboard knows of (phase mix, per host, live). */
export function usePhaseColor(): PhaseColor {
  const mix = useStore((s) => s.state.phase_mix);
  const live = useStore((s) => s.state.live_phases);
  const key = useMemo(() => {
    const names = new Set<string>();
    if (mix) {
      for (const p of Object.keys(mix.counts)) names.add(p);
      for (const h of Object.values(mix.per_host)) for (const p of Object.keys(h.counts)) names.add(p);
    }
    for (const t of Object.values(live)) names.add(t.phase);
    return [...names].sort().join('\u0000');
  }, [mix, live]);
  return useMemo(() => phaseColors(key ? key.split('\u0000') : []), [key]);
}

function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  const channel = (c: number): number => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

/** Black or white, whichever reads better on `background` (a `#rrggbb` colour): labels on bar segments. */
export function textOn(background: string): '#000' | '#fff' {
  if (!/^#[0-9a-f]{6}$/i.test(background)) return '#000';
  const l = luminance(background);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000' : '#fff';
}
