// WCAG 2 contrast between what a mark paints and the background behind the plot, from the
// colours the browser computed (getComputedStyle), opacity included: a line drawn at opacity
// 0.45 is seen as its colour blended 45 % over the background, and that blend is what counts.
import { Locator } from '@playwright/test';

export type RGB = [number, number, number];
type RGBA = [number, number, number, number];

/** `rgb(r, g, b)` or `rgba(r, g, b, a)` as computed styles write them; `none`: transparent. */
export function parseColor(css: string): RGBA {
  const m = css.match(/^rgba?\(([^)]+)\)$/);
  if (!m) {
    if (css === 'none' || css === 'transparent') return [0, 0, 0, 0];
    throw new Error(`not a computed colour: ${css}`);
  }
  const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
}

/** `top` painted with `alpha` over the opaque `bottom` (browsers blend in sRGB). */
export function over(top: RGB, alpha: number, bottom: RGB): RGB {
  return [0, 1, 2].map((i) => alpha * top[i] + (1 - alpha) * bottom[i]) as RGB;
}

function luminance([r, g, b]: RGB): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio, from 1 (same) to 21 (black on white). */
export function contrast(a: RGB, b: RGB): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export const hex = (c: RGB) => '#' + c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');

/**
 * The opaque colour behind the plot of a bqplot `figure` (its `div.bqplot`): the background
 * colours of the figure and its ancestors, composed from the first opaque one down, under
 * bqplot's own plot-area rectangle (`rect.plotarea_background`, in the theme's colour).
 */
export async function backgroundBehind(figure: Locator): Promise<RGB> {
  const layers = await figure.evaluate((el) => {
    const found: { css: string; alpha: number }[] = [];
    for (let e: Element | null = el; e; e = e.parentElement) {
      found.unshift({ css: getComputedStyle(e).backgroundColor, alpha: 1 });
    }
    const rect = el.querySelector('rect.plotarea_background');
    if (rect) {
      const s = getComputedStyle(rect);
      found.push({ css: s.fill, alpha: Number(s.fillOpacity) * Number(s.opacity) });
    }
    return found;
  });
  let color: RGB = [255, 255, 255]; // the canvas, when nothing paints
  for (const { css, alpha } of layers) {
    const [r, g, b, a] = parseColor(css);
    if (a * alpha > 0) color = over([r, g, b], a * alpha, color);
  }
  return color;
}

/**
 * What the first of `items` paints with its `paint` ('stroke' or 'fill'), as seen: the colour
 * and the opacity it is drawn with (its own and its groups' opacity, times the paint's).
 */
export async function paintOf(items: Locator, paint: 'stroke' | 'fill'): Promise<{ color: RGB; alpha: number }> {
  const seen = await items.first().evaluate((el, paint) => {
    const s = getComputedStyle(el);
    let alpha = Number(paint === 'stroke' ? s.strokeOpacity : s.fillOpacity);
    for (let e: Element | null = el; e && e.tagName.toLowerCase() !== 'svg'; e = e.parentElement) {
      alpha *= Number(getComputedStyle(e).opacity);
    }
    return { css: paint === 'stroke' ? s.stroke : s.fill, alpha };
  }, paint);
  const [r, g, b, a] = parseColor(seen.css);
  return { color: [r, g, b], alpha: seen.alpha * a };
}
