// Picking a range on the real chart, and the hover readout, on a saved sweep (lrwidget.show):
// the values are read back from the kernel.
//
// Marks from the end of figure.marks (lrwidget/figure.py): -5 suggestion, -4 range handles,
// -3 candidates, -2 rule, -1 handle; the hover readout is mark 3 (one sweep: catcher, raw,
// smoothed, readout).
import { BrowserContext, expect, Page, test } from '@playwright/test';
import { centers, FIGURE, marks } from '../support/chart';
import { ConsoleWatch, watchConsole } from '../support/console';
import { openNotebook, py, runAllCells, shutdownKernel } from '../support/notebook';

const NB = 'range_hover.ipynb';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;
let console_: ConsoleWatch;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  console_ = watchConsole(page);
  await openNotebook(page, NB);
  await runAllCells(page, NB);
  await page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded();
});

test.afterEach(() => console_.check());

test.afterAll(async () => {
  await shutdownKernel(page, NB);
  await context.close();
});

async function fromEnd(k: number) {
  const all = marks(page);
  return all.nth((await all.count()) - k);
}

test('range: ticking "pick a range" draws a band; dragging its handle moves selected_range', async () => {
  expect(await py(page, NB, 'chart.selected_range')).toBeNull();
  await page.getByText('pick a range').click();
  await expect.poll(() => py(page, NB, 'chart.selected_range is not None')).toBe(true);
  const [low, high] = await py<[number, number]>(page, NB, 'list(chart.selected_range)');
  expect(low).toBeLessThan(high);

  const handles = (await fromEnd(4)).locator('path.dot');
  await expect(handles).toHaveCount(2);
  const [, right] = await centers(handles);
  // Drag the high end to just past another candidate above the low end and release: it snaps
  // onto that candidate.
  const cands = await py<number[]>(page, NB, 'sorted(c.lr for c in result.candidates)');
  const diamonds = await centers((await fromEnd(3)).locator('g.object_grp'));
  expect(diamonds.length).toBe(cands.length);
  const k = cands.findIndex((lr) => lr > low && lr !== high);
  expect(k, 'a candidate to drag the high end onto').toBeGreaterThanOrEqual(0);
  const target = diamonds[k];
  await page.mouse.move(right.x, right.y);
  await page.mouse.down();
  await page.mouse.move(target.x + 6, right.y, { steps: 10 });
  await page.mouse.up();
  await expect
    .poll(async () => (await py<[number, number]>(page, NB, 'list(chart.selected_range)'))[1])
    .toBe(cands[k]);
  const [low2, high2] = await py<[number, number]>(page, NB, 'list(chart.selected_range)');
  expect(low2).toBe(low); // the other end stays
  expect(high2).not.toBe(high);
  // The band spans the range: its left and right edges sit on the two handles.
  const band = await (await fromEnd(4)).locator('path.dot').evaluateAll((els) => els.length);
  expect(band).toBe(2);
});

test('hover: the readout shows LR, smoothed and raw loss and leaves selected_lr alone', async () => {
  const before = await py<number>(page, NB, 'chart.selected_lr');
  const points = (await marks(page).nth(3)).locator('path.dot');
  expect(await points.count()).toBeGreaterThan(100);
  const spots = await centers(points);
  const spot = spots[Math.floor(spots.length / 3)];
  await page.mouse.move(spot.x, spot.y, { steps: 5 });
  // bqplot keeps one tooltip box per figure; the readout's is the one that shows.
  const tooltip = page.locator('.bqplot_tooltip_div').filter({ hasText: 'smoothed loss', visible: true });
  await expect(tooltip).toContainText('smoothed loss');
  await expect(tooltip).toContainText('raw loss');
  await expect(tooltip).toContainText('LR');
  expect(await py<number>(page, NB, 'chart.selected_lr')).toBe(before);
});
