import { own, type PhaseTotals } from '../../../protocol/index.js';

/** Phases kept out of the bar and its denominator, shown apart (the seed's `failed`). */
export const APART_PHASES: readonly string[] = ['failed'];

export interface MixSegment {
  phase: string;
  /** Seconds (time basis) or labels (label basis): the bar's unit. */
  value: number;
  /** Share of the displayed phases only. */
  fraction: number;
  count: number;
  seconds: number;
}

export interface MixBar {
  /** `time` when any displayed phase has a duration; otherwise the bar falls back to label counts. */
  basis: 'time' | 'labels';
  segments: MixSegment[];
  apart: { phase: string; count: number; seconds: number }[];
  /** Sum of the displayed phases' values (the denominator). */
  denominator: number;
}

/**
 * The Baseline bar (the seed's semantics): time-weighted proportions when durations exist, label
 * counts when none do, the denominator summed over displayed phases only so `failed` never shrinks
 * the visible bars; `failed` is reported beside the bar. Phases in name order, so a phase keeps its
 * place between hosts and refreshes.
 */
export function mixBar(
  totals: Pick<PhaseTotals, 'counts' | 'weighted_seconds'>,
  apart = APART_PHASES,
): MixBar {
  const phases = [
    ...new Set([...Object.keys(totals.counts), ...Object.keys(totals.weighted_seconds)]),
  ].sort();
  const shown = phases.filter((p) => !apart.includes(p));
  const seconds = (p: string): number => Math.max(0, own(totals.weighted_seconds, p) ?? 0);
  const count = (p: string): number => Math.max(0, own(totals.counts, p) ?? 0);
  const timeTotal = shown.reduce((sum, p) => sum + seconds(p), 0);
  const basis = timeTotal > 0 ? 'time' : 'labels';
  const value = basis === 'time' ? seconds : count;
  const denominator = shown.reduce((sum, p) => sum + value(p), 0);
  return {
    basis,
    segments: shown.map((phase) => ({
      phase,
      value: value(phase),
      fraction: denominator > 0 ? value(phase) / denominator : 0,
      count: count(phase),
      seconds: seconds(phase),
    })),
    apart: phases
      .filter((p) => apart.includes(p))
      .map((phase) => ({ phase, count: count(phase), seconds: seconds(phase) })),
    denominator,
  };
}
