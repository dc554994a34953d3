import { formatPercent, formatPlural, formatSeconds } from '../../data/format.js';
import { type PhaseColor, textOn } from '../../ui/phase-colors.js';
import type { MixBar } from './mix.js';

/** One stacked bar with a legend that prints every number (a wall display has no hover). */
export function MixBarView({
  bar,
  color: phaseColor,
  compact = false,
}: {
  bar: MixBar;
  color: PhaseColor;
  compact?: boolean;
}) {
  const visible = bar.segments.filter((s) => s.value > 0);
  return (
    <div className={compact ? 'mix compact' : 'mix'}>
      <div
        className={compact ? 'mix-bar thin' : 'mix-bar'}
        role="img"
        aria-label={visible.map((s) => `${s.phase} ${formatPercent(s.fraction)}`).join(', ')}
      >
        {visible.map((s) => (
          <span
            key={s.phase}
            className="mix-seg"
            data-phase={s.phase}
            style={{
              width: `${s.fraction * 100}%`,
              background: phaseColor(s.phase),
              color: textOn(phaseColor(s.phase)),
            }}
          >
            {!compact && s.fraction >= 0.06 ? (
              <span className="mix-seg-label">{formatPercent(s.fraction)}</span>
            ) : (
              ''
            )}
          </span>
        ))}
      </div>
      <ul className="legend">
        {bar.segments.map((s) => (
          <li key={s.phase} data-phase={s.phase}>
            <span className="swatch" style={{ background: phaseColor(s.phase) }} aria-hidden="true" />
            <span className="legend-name">{s.phase}</span>
            <span className="legend-pct">{formatPercent(s.fraction)}</span>
            {!compact && (
              <span className="muted">
                {bar.basis === 'time' ? `${formatSeconds(s.seconds)} · ` : ''}
                {formatPlural(s.count, 'label')}
              </span>
            )}
          </li>
        ))}
        {bar.apart.map((a) => (
          <li key={a.phase} className="apart" data-phase={a.phase}>
            <span className="swatch" style={{ background: phaseColor(a.phase) }} aria-hidden="true" />
            <span className="legend-name">{a.phase}</span>
            <span className="legend-pct">{formatPlural(a.count, 'label')}</span>
            {!compact && <span className="muted">not in the bar</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}
