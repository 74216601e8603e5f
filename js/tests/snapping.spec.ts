// Snapping on a log axis, in the browser: two saved sweeps a decade apart (fixtures/
// snapping.ipynb), so that the overlay's candidates lie far enough apart for the nearest one
// on a log scale and on a linear scale to differ. A click between them must land on the
// nearer one as the eye sees it, on the log axis.
import { expect, test } from '@playwright/test';
import { candidateMarkers, centers, FIGURE } from '../support/chart';
import { py } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'snapping.ipynb';

const session = sharedNotebook(NB, {
  run: true,
  before: (page) => page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded(),
});

/** The overlay's candidate LRs, sorted, and their diamonds' centres, left to right. */
async function candidates() {
  const lrs = await py<number[]>(session.page, NB, 'sorted(c.lr for c in low.candidates + high.candidates)');
  const xs = (await centers(await candidateMarkers(session.page))).map((c) => c.x);
  expect(xs.length, 'one diamond per candidate of both sweeps').toBe(lrs.length);
  return { lrs, xs };
}

/**
 * Where to click between the lower sweep's suggestion and the higher sweep's careful candidate
 * (6.7x apart): 60 % of the way on the log axis. There the higher candidate is the nearer on
 * a log scale (past the geometric mean, 50 %), the lower one on a linear scale (short of the
 * arithmetic mean, 71 %).
 */
async function betweenTheSweeps() {
  const { lrs, xs } = await candidates();
  const k = lrs.findIndex((lr, i) => i + 1 < lrs.length && lrs[i + 1] / lr > 4);
  expect(k, 'two neighbouring candidates more than 4x apart').toBeGreaterThanOrEqual(0);
  const [a, b] = [lrs[k], lrs[k + 1]];
  const f = 0.6;
  const lr = Math.exp(Math.log(a) + f * Math.log(b / a));
  expect(Math.abs(lr - a), 'the click is nearer the lower candidate linearly').toBeLessThan(Math.abs(b - lr));
  const plot = (await session.page.locator(`${FIGURE} svg.svg-figure`).boundingBox())!;
  return { a, b, lr, x: xs[k] + f * (xs[k + 1] - xs[k]), y: plot.y + plot.height * 0.45 };
}

test('a click between two sweeps a decade apart snaps to the candidate nearer on the log axis', async () => {
  expect(await py<boolean>(session.page, NB, 'chart.snap')).toBe(true);
  const { a, b, x, y } = await betweenTheSweeps();
  const before = await py<number | null>(session.page, NB, 'chart.selected_lr');
  expect(before).not.toBe(b);
  await session.page.mouse.click(x, y);
  await expect.poll(() => py<number>(session.page, NB, 'chart.selected_lr')).toBe(b);
  expect(b).not.toBe(a);
});

test('with snapping off the same click lands on the LR under the pointer', async () => {
  await session.page.getByText('snap to candidates').click();
  await expect.poll(() => py<boolean>(session.page, NB, 'chart.snap')).toBe(false);
  const { lr, x, y } = await betweenTheSweeps();
  await session.page.mouse.click(x, y);
  // Within 0.05 of a decade of the interpolated LR: a few pixels on this axis.
  await expect
    .poll(async () => Math.abs(Math.log10((await py<number>(session.page, NB, 'chart.selected_lr')) / lr)))
    .toBeLessThan(0.05);
  await session.page.getByText('snap to candidates').click();
  await expect.poll(() => py<boolean>(session.page, NB, 'chart.snap')).toBe(true);
});
