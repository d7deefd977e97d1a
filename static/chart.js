// Small inline SVG charts for the report page (report.js) and the dashboard (dashboard.js).
//
// Every chart is an <svg class="chart" data-chart="KIND"> with a <title> naming what it shows,
// text labels and values drawn inside it, and a <title> on each bar, marker or series. No
// viewBox: x positions are percentages of the chart's width and y positions pixels, so a chart
// fills its card at any width while its text keeps its size. Colours come from style.css
// classes (chart__*), so charts follow the light and dark themes and print.

const SVG_NS = 'http://www.w3.org/2000/svg';
const SERIES_COLOURS = 8;

/** An SVG element: `attrs` with null or undefined values are left out; strings become text. */
export function svg(name, attrs = {}, ...children) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

/** A percentage of the chart's width, as an attribute value. */
const pct = (value) => `${Math.round(value * 100) / 100}%`;

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/** The chart's root: `<svg class="chart" data-chart=KIND>` named by its first child, a <title>. */
function chartRoot(kind, title, height) {
  const id = `chart-${kind}-title`;
  const root = svg('svg', {
    class: `chart chart--${kind}`,
    'data-chart': kind,
    role: 'img',
    'aria-labelledby': id,
    width: '100%',
    height,
  });
  root.append(svg('title', { id }, title));
  return root;
}

/** A chart with nothing to show yet: its frame and one line saying so. */
function emptyChart(kind, title, text, height = 64) {
  const root = chartRoot(kind, `${title}: ${text}`, height);
  root.append(svg('text', { class: 'chart__empty', x: '50%', y: height / 2, 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, text));
  root.dataset.empty = 'true';
  return root;
}

/** 142.37 → "142", 2.46 → "2.5", 3 → "3". */
export function formatNumber(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
  return rounded.toLocaleString(undefined, { maximumFractionDigits: 1 });
}

/** A 1–5 score's band: low (under 3), mid (3 to under 4), high (4 and up). */
export const scoreBand = (score) => (score >= 4 ? 'high' : score >= 3 ? 'mid' : 'low');

/** The same bands on the 0–100 scale (1 → 0, 3 → 50, 4 → 75, 5 → 100). */
export const percentBand = (score) => (score >= 75 ? 'high' : score >= 50 ? 'mid' : 'low');

// ---- Per-answer scores: vertical bars on 1..5 ----

/**
 * `answers`: `[{label, score (1–5), href?, title?}]`, in order. Bars start from a zero
 * baseline so a 1 still shows; the y axis is labelled 1 to 5.
 */
export function answersChart(answers) {
  const title = 'Score per answer, out of 5';
  const scored = answers.filter((answer) => typeof answer.score === 'number');
  if (scored.length === 0) return emptyChart('answers', title, 'No answer has been scored yet.');

  const height = 240;
  const top = 24;
  const bottom = height - 34;
  const left = 7;
  const right = 100;
  const y = (score) => bottom - (clamp(score, 0, 5) / 5) * (bottom - top);
  const summary = scored.map((answer) => `${answer.label} ${answer.score}/5`).join(', ');
  const root = chartRoot('answers', `${title}: ${summary}`, height);
  root.dataset.count = String(scored.length);

  const grid = svg('g', { class: 'chart__axis', 'aria-hidden': 'true' });
  for (let tick = 1; tick <= 5; tick += 1) {
    grid.append(
      svg('line', { class: 'chart__grid', x1: pct(left), x2: pct(right), y1: y(tick), y2: y(tick) }),
      svg('text', { class: 'chart__tick', x: pct(left), dx: -8, y: y(tick), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, String(tick)),
    );
  }
  grid.append(svg('line', { class: 'chart__baseline', x1: pct(left), x2: pct(right), y1: y(0), y2: y(0) }));
  root.append(grid);

  // At least five slots wide, so one or two answers do not make fat bars; the bars sit centred.
  const slot = (right - left) / Math.max(scored.length, 5);
  const start = left + (right - left - slot * scored.length) / 2;
  scored.forEach((answer, index) => {
    const x = start + slot * index;
    const centre = x + slot / 2;
    const item = svg('g', {
      class: `chart__item chart__item--${scoreBand(answer.score)}`,
      'data-label': answer.label,
      'data-score': answer.score,
    });
    item.append(
      svg('title', {}, answer.title ?? `${answer.label}: ${answer.score} out of 5`),
      svg('rect', {
        class: 'chart__bar',
        x: pct(x + slot * 0.2),
        width: pct(slot * 0.6),
        y: y(answer.score),
        height: Math.max(0, y(0) - y(answer.score)),
        rx: 3,
      }),
      svg('text', { class: 'chart__value', x: pct(centre), y: y(answer.score) - 7, 'text-anchor': 'middle' }, String(answer.score)),
      svg('text', { class: 'chart__label', x: pct(centre), y: height - 12, 'text-anchor': 'middle' }, answer.label),
    );
    root.append(answer.href ? svg('a', { href: answer.href, class: 'chart__link' }, item) : item);
  });
  // Many answers: the chart keeps room for each label and scrolls sideways in its frame.
  root.style.minWidth = `${Math.max(16, scored.length * 2.75 + 3)}rem`;
  return root;
}

// ---- Delivery: each metric on a track with its recommended range ----

const VERDICT_TEXT = { within: 'within range', below: 'below range', above: 'above range' };

/** "120–160 words/min", "up to 3 per min". */
function rangeText(low, high, unit) {
  const suffix = unit ? ` ${unit}` : '';
  if (typeof low === 'number' && low > 0 && typeof high === 'number') return `${formatNumber(low)}–${formatNumber(high)}${suffix}`;
  if (typeof high === 'number') return `up to ${formatNumber(high)}${suffix}`;
  if (typeof low === 'number') return `at least ${formatNumber(low)}${suffix}`;
  return '';
}

/** `checks`: the report's `delivery.checks`, `[{metric, label, unit, value, low, high, verdict}]`. */
export function deliveryChart(checks) {
  const title = 'Delivery against the recommended ranges';
  if (checks.length === 0) return emptyChart('delivery', title, 'No delivery measures yet.');

  const row = 84;
  const height = row * checks.length;
  const parts = checks.map((check) => {
    const value = typeof check.value === 'number' ? `${formatNumber(check.value)} ${check.unit ?? ''}`.trim() : 'no spoken answers';
    const verdict = check.value === null || check.value === undefined ? '' : VERDICT_TEXT[check.verdict] ?? '';
    return `${check.label}: ${value}${verdict ? `, ${verdict}` : ''}`;
  });
  const root = chartRoot('delivery', `${title}: ${parts.join('; ')}`, height);

  checks.forEach((check, index) => {
    const top = row * index;
    const measured = typeof check.value === 'number';
    const low = typeof check.low === 'number' ? check.low : 0;
    const high = typeof check.high === 'number' ? check.high : low;
    // The scale runs from 0 to a quarter past the range's top (or the value, if higher).
    const max = Math.max(high, measured ? check.value : 0, low, 1) * 1.25;
    const at = (value) => (clamp(value, 0, max) / max) * 100;
    const verdict = measured ? check.verdict ?? null : null;
    const item = svg('g', {
      class: `chart__check${verdict ? ` chart__check--${verdict}` : ''}${measured ? '' : ' chart__check--none'}`,
      'data-metric': check.metric,
      'data-verdict': verdict ?? 'none',
    });
    const valueText = measured ? `${formatNumber(check.value)} ${check.unit ?? ''}`.trim() : 'no spoken answers';
    const trackY = top + 30;
    item.append(
      svg('title', {}, parts[index]),
      svg('text', { class: 'chart__label chart__label--strong', x: 0, y: top + 16 }, check.label),
      svg('text', { class: measured ? 'chart__value' : 'chart__value chart__value--none', x: '100%', y: top + 16, 'text-anchor': 'end' }, valueText),
      svg('rect', { class: 'chart__track', x: 0, y: trackY, width: '100%', height: 12, rx: 6 }),
      svg('rect', {
        class: 'chart__band',
        x: pct(at(low)),
        y: trackY,
        width: pct(Math.max(at(high) - at(low), 0.5)),
        height: 12,
        rx: 6,
      }),
    );
    if (measured) {
      item.append(svg('circle', { class: 'chart__marker', cx: pct(at(check.value)), cy: trackY + 6, r: 8 }));
    }
    item.append(
      // The value above carries the unit; leaving it out here keeps narrow charts legible.
      svg('text', { class: 'chart__tick', x: 0, y: trackY + 32 }, `recommended ${rangeText(check.low, check.high, measured ? '' : check.unit)}`),
      svg('text', { class: 'chart__verdict', x: '100%', y: trackY + 32, 'text-anchor': 'end' }, measured ? VERDICT_TEXT[verdict] ?? '' : ''),
    );
    root.append(item);
  });
  return root;
}

// ---- Skills: horizontal bars on 0..100 ----

/** `skills`: `[{skill, name, score (0–100), questions}]`, drawn in the order given. */
export function skillsChart(skills) {
  const title = 'Score per skill, out of 100';
  if (skills.length === 0) return emptyChart('skills', title, 'No skill has been scored yet.');

  const row = 52;
  const height = row * skills.length;
  const summary = skills.map((skill) => `${skill.name} ${skill.score}/100`).join(', ');
  const root = chartRoot('skills', `${title}: ${summary}`, height);
  skills.forEach((skill, index) => {
    const top = row * index;
    const questions = skill.questions === 1 ? '1 question' : `${skill.questions} questions`;
    const item = svg('g', {
      class: `chart__item chart__item--${percentBand(skill.score)}`,
      'data-skill': skill.skill,
      'data-score': skill.score,
    });
    item.append(
      svg('title', {}, `${skill.name}: ${skill.score} out of 100, over ${questions}`),
      svg('text', { class: 'chart__label chart__label--strong', x: 0, y: top + 16 }, skill.name),
      svg('text', { class: 'chart__value', x: '100%', y: top + 16, 'text-anchor': 'end' }, `${skill.score}/100`),
      svg('rect', { class: 'chart__track', x: 0, y: top + 26, width: '100%', height: 12, rx: 6 }),
      svg('rect', { class: 'chart__bar', x: 0, y: top + 26, width: pct(clamp(skill.score, 0, 100)), height: 12, rx: 6 }),
    );
    root.append(item);
  });
  return root;
}

// ---- Progress: one line per skill over time, 0..100 ----

const shortDate = (time) => new Date(time).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });

/** The colour class of the `index`th series (shared with the legend). */
export const seriesClass = (index) => `chart__series--${index % SERIES_COLOURS}`;

/**
 * `skills`: the progress endpoint's `[{skill, name, points: [{interview_id, completed_at,
 * score}], latest, change}]`. x is the completion time, y the score; a skill with one point
 * is one dot. The `index`th skill of `skills` has the colour `seriesClass(index)`.
 */
export function trendChart(skills) {
  const title = 'Skill scores over time, out of 100';
  const series = skills
    .map((skill, index) => ({
      ...skill,
      colour: index,
      points: (skill.points ?? [])
        .map((point) => ({ ...point, time: new Date(point.completed_at).getTime() }))
        .filter((point) => Number.isFinite(point.time) && typeof point.score === 'number')
        .sort((a, b) => a.time - b.time),
    }))
    .filter((skill) => skill.points.length > 0);
  if (series.length === 0) return emptyChart('trend', title, 'No skill scores yet.');

  const height = 260;
  const top = 16;
  const bottom = height - 36;
  const left = 8;
  const right = 97;
  const times = series.flatMap((skill) => skill.points.map((point) => point.time));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const x = (time) => (last === first ? (left + right) / 2 : left + ((time - first) / (last - first)) * (right - left));
  const y = (score) => bottom - (clamp(score, 0, 100) / 100) * (bottom - top);
  const summary = series.map((skill) => `${skill.name} ${skill.points.at(-1).score}/100`).join(', ');
  const root = chartRoot('trend', `${title}: latest ${summary}`, height);

  const axis = svg('g', { class: 'chart__axis', 'aria-hidden': 'true' });
  for (const tick of [0, 25, 50, 75, 100]) {
    axis.append(
      svg('line', { class: tick === 0 ? 'chart__baseline' : 'chart__grid', x1: pct(left), x2: pct(100), y1: y(tick), y2: y(tick) }),
      svg('text', { class: 'chart__tick', x: pct(left), dx: -8, y: y(tick), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, String(tick)),
    );
  }
  if (last === first) {
    axis.append(svg('text', { class: 'chart__tick', x: pct(x(first)), y: height - 12, 'text-anchor': 'middle' }, shortDate(first)));
  } else {
    axis.append(
      svg('text', { class: 'chart__tick', x: pct(left), y: height - 12, 'text-anchor': 'start' }, shortDate(first)),
      svg('text', { class: 'chart__tick', x: pct(right), y: height - 12, 'text-anchor': 'end' }, shortDate(last)),
    );
  }
  root.append(axis);

  for (const skill of series) {
    const group = svg('g', { class: `chart__series ${seriesClass(skill.colour)}`, 'data-skill': skill.skill, 'data-points': skill.points.length });
    const latest = skill.points.at(-1).score;
    group.append(svg('title', {}, `${skill.name}: ${skill.points.map((point) => point.score).join(', ')} (latest ${latest}/100)`));
    for (let i = 1; i < skill.points.length; i += 1) {
      const from = skill.points[i - 1];
      const to = skill.points[i];
      group.append(svg('line', { class: 'chart__line', x1: pct(x(from.time)), y1: y(from.score), x2: pct(x(to.time)), y2: y(to.score) }));
    }
    for (const point of skill.points) {
      group.append(
        svg('circle', { class: 'chart__point', cx: pct(x(point.time)), cy: y(point.score), r: 4.5 },
          svg('title', {}, `${skill.name}, ${shortDate(point.time)}: ${point.score}/100`)),
      );
    }
    root.append(group);
  }
  return root;
}
