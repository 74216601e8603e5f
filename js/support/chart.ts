// What the browser sees of an lrwidget chart, read from bqplot's SVG.
//
// bqplot 0.13 gives the mark groups no class: inside `svg.svg-figure`, the first `g > g` holds
// one `g` per mark, in `figure.marks` order, then a `g.g_legend`. lrwidget/figure.py documents
// the order: [0] click catcher, [1..n] raw loss lines, [n+1..2n] smoothed lines, (more marks),
// [-3] candidate diamonds, [-2] selection rule, [-1] draggable handle.
import { expect, Locator, Page, TestInfo } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import { nextFrames } from './notebook';

export const FIGURE = '.lrwidget-figure';
const MARKS = `${FIGURE} svg.svg-figure > g > g:first-of-type > g:not(.g_legend)`;

export function marks(page: Page): Locator {
  return page.locator(MARKS);
}

async function markFromEnd(page: Page, k: number): Promise<Locator> {
  const all = marks(page);
  const n = await all.count();
  expect(n, 'bqplot drew fewer marks than lrwidget documents').toBeGreaterThanOrEqual(6);
  return all.nth(n - k);
}

/** The candidate diamonds, one `g.object_grp` each. */
export async function candidateMarkers(page: Page): Promise<Locator> {
  return (await markFromEnd(page, 3)).locator('g.object_grp');
}

/** The draggable handle's symbol. */
export async function handleDot(page: Page): Promise<Locator> {
  return (await markFromEnd(page, 1)).locator('path.dot');
}

/** The selection rule's dashed line. */
export async function selectionRule(page: Page): Promise<Locator> {
  return (await markFromEnd(page, 2)).locator('path.line');
}

/** The raw (faint) and the smoothed (bold) loss line of a chart showing one sweep. */
export function lossLines(page: Page): { raw: Locator; smoothed: Locator } {
  return { raw: marks(page).nth(1).locator('path.line'), smoothed: marks(page).nth(2).locator('path.line') };
}

/** The x axis' tick labels as drawn, left to right (d3 puts each x tick at translate(x, 0)). */
export async function xTickLabels(page: Page): Promise<string[]> {
  const ticks = await page.locator(`${FIGURE} g.tick`).evaluateAll((els) =>
    els
      .filter((e) => /^translate\([^,]+,\s*0\)$/.test(e.getAttribute('transform') ?? ''))
      .map((e) => ({ x: e.getBoundingClientRect().left, text: e.textContent ?? '' })),
  );
  return ticks.sort((a, b) => a.x - b.x).map((t) => t.text);
}

/** How many points the first raw-loss line draws: one M or L command per point in its path. */
export async function pointsDrawn(page: Page): Promise<number> {
  const d = await marks(page).nth(1).locator('path.line').first().getAttribute('d');
  return (d ?? '').match(/[ML]/g)?.length ?? 0;
}

/** Page coordinates of the centres of some SVG elements, left to right, with each one's index. */
export async function centers(items: Locator): Promise<{ x: number; y: number; index: number }[]> {
  const boxes = await items.evaluateAll((els) =>
    els.map((e, index) => {
      const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2, index };
    }),
  );
  return boxes.sort((a, b) => a.x - b.x);
}

/**
 * Saves a PNG of the whole widget (buttons, chart, picking controls) as a test attachment,
 * and also into js/screenshots/ when UPDATE_SCREENSHOTS=1 (`npm run screenshots`), so that
 * an ordinary run leaves the committed pictures alone.
 */
export async function widgetShot(page: Page, name: string, testInfo: TestInfo) {
  const file = testInfo.outputPath(`${name}.png`);
  // A pick redraws the cell's output (update_display with the static picture), and JupyterLab
  // then builds the widget's views anew: a picture begun on the old ones is taken again.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.locator('.lrwidget').first().screenshot({ path: file, animations: 'disabled' });
      break;
    } catch (e) {
      if (attempt >= 3 || !String(e).includes('not attached')) throw e;
      await expect(page.locator(`${FIGURE} svg.svg-figure`)).toBeVisible();
      await nextFrames(page, 10); // bqplot draws its marks after the figure
    }
  }
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(__dirname, '..', 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(file, path.join(dir, `${name}.png`));
  }
}
