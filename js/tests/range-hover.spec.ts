// Picking a range on the real chart, and the hover readout, on a saved sweep (lrwidget.show):
// the values are read back from the kernel.
//
// Marks from the end of figure.marks (lrwidget/figure.py): -7 suggestion, -4 range handles,
// -3 candidates, -2 rule, -1 handle; the hover readout is mark 3 (one sweep: catcher, raw,
// smoothed, readout).
import { expect, test } from '@playwright/test';
import { centers, FIGURE, marks, widgetShot } from '../support/chart';
import { kernelRun, nextFrames, py, settled } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'range_hover.ipynb';
const GRAB = 3; // px right of a range handle's centre where a drag takes it

const session = sharedNotebook(NB, {
  run: true,
  before: (page) => page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded(),
});

async function fromEnd(k: number) {
  const all = marks(session.page);
  return all.nth((await all.count()) - k);
}

test('range: ticking "pick a range" draws a band; dragging its handle moves selected_range', async () => {
  expect(await py(session.page, NB, 'chart.selected_range')).toBeNull();
  await session.page.getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'chart.selected_range is not None')).toBe(true);
  const [low, high] = await py<[number, number]>(session.page, NB, 'list(chart.selected_range)');
  expect(low).toBeLessThan(high);

  const handles = (await fromEnd(4)).locator('path.dot');
  await expect(handles).toHaveCount(2);
  const [, right] = await centers(handles);
  // Drag the high end to just past another candidate above the low end and release: it snaps
  // onto that candidate.
  const cands = await py<number[]>(session.page, NB, 'sorted(c.lr for c in result.candidates)');
  const diamonds = await centers((await fromEnd(3)).locator('g.object_grp'));
  expect(diamonds.length).toBe(cands.length);
  const k = cands.findIndex((lr) => lr > low && lr !== high);
  expect(k, 'a candidate to drag the high end onto').toBeGreaterThanOrEqual(0);
  const target = diamonds[k];
  // Grabbed 3 px right of its centre: the selection's rule runs through the centre when the
  // range ends on the selected LR, as it does here.
  await session.page.mouse.move(right.x + GRAB, right.y);
  await session.page.mouse.down();
  await session.page.mouse.move(target.x + 6 + GRAB, right.y, { steps: 10 });
  await session.page.mouse.up();
  await expect
    .poll(async () => (await py<[number, number]>(session.page, NB, 'list(chart.selected_range)'))[1])
    .toBe(cands[k]);
  const [low2, high2] = await py<[number, number]>(session.page, NB, 'list(chart.selected_range)');
  expect(low2).toBe(low); // the other end stays
  expect(high2).not.toBe(high);
  // The band spans the range: its left and right edges sit on the two handles.
  const band = await (await fromEnd(4)).locator('path.dot').evaluateAll((els) => els.length);
  expect(band).toBe(2);
});

test('hover: the readout shows LR, smoothed and raw loss and leaves selected_lr alone', async () => {
  const before = await py<number>(session.page, NB, 'chart.selected_lr');
  const points = (await marks(session.page).nth(3)).locator('path.dot');
  expect(await points.count()).toBeGreaterThan(100);
  const spots = await centers(points);
  const spot = spots[Math.floor(spots.length / 3)];
  await session.page.mouse.move(spot.x, spot.y, { steps: 5 });
  // bqplot keeps one tooltip box per figure; the readout's is the one that shows.
  const tooltip = session.page.locator('.bqplot_tooltip_div').filter({ hasText: 'smoothed loss', visible: true });
  await expect(tooltip).toContainText('smoothed loss');
  await expect(tooltip).toContainText('raw loss');
  await expect(tooltip).toContainText('LR');
  expect(await py<number>(session.page, NB, 'chart.selected_lr')).toBe(before);
});

test("quick clicks: a candidate's tooltip never takes the click meant for the next diamond", async () => {
  // bqplot first shows a tooltip where the last one stood, over the neighbouring diamond, and
  // moves it next to the pointer a frame or two later: a click in between used to be lost.
  const cands = await py<number[]>(session.page, NB, 'sorted(c.lr for c in result.candidates)');
  const diamonds = await centers((await fromEnd(3)).locator('g.object_grp'));
  expect(diamonds.length).toBe(cands.length);
  let lost = 0;
  for (let i = 0; i < 12; i++) {
    const k = i % 2;
    // No pause: the pointer jumps from one diamond to the other and clicks at once.
    await session.page.mouse.click(diamonds[k].x, diamonds[k].y);
    await session.page.waitForTimeout(150); // a quick user's pace between clicks
    try {
      await expect.poll(() => py<number>(session.page, NB, 'chart.selected_lr'), { timeout: 3_000 }).toBe(cands[k]);
    } catch {
      lost++;
      await session.page.mouse.click(diamonds[k].x, diamonds[k].y, { delay: 50 }); // back in step
      await settled(session.page, NB);
    }
  }
  expect(lost, 'quick clicks (of 12) that did not pick their diamond').toBe(0);
});

/** The page x of an LR on the chart's log axis, from two of the x axis' tick labels as drawn. */
async function pageX(lr: number): Promise<number> {
  const ticks = await session.page.locator(`${FIGURE} g.tick`).evaluateAll((els) =>
    els
      .filter((e) => /^translate\([^,]+,\s*0\)$/.test(e.getAttribute('transform') ?? ''))
      .map((e) => {
        const r = e.getBoundingClientRect();
        return { x: r.left + r.width / 2, text: (e.textContent ?? '').replace('\u2212', '-') };
      }),
  );
  const known = ticks.filter((t) => Number(t.text) > 0).sort((a, b) => a.x - b.x);
  expect(known.length, 'x tick labels to read the axis from').toBeGreaterThanOrEqual(2);
  const [a, b] = [known[0], known[known.length - 1]];
  const perDecade = (b.x - a.x) / Math.log10(Number(b.text) / Number(a.text));
  return a.x + perDecade * Math.log10(lr / Number(a.text));
}

/** Drags range handle `index` (0: low, 1: high) to the LR `lr`; checks mid-drag that it follows. */
async function dragRangeEnd(index: number, lr: number) {
  const handles = (await fromEnd(4)).locator('path.dot');
  const from = (await centers(handles))[index];
  const to = await pageX(lr);
  await session.page.mouse.move(from.x + GRAB, from.y);
  await session.page.mouse.down();
  await session.page.mouse.move(to + GRAB, from.y, { steps: 12 });
  // Mid-drag the triangle is under the pointer, also after the kernel's answers came in
  // (soft: where the end lands is checked too).
  await settled(session.page, NB);
  const off = Math.abs((await centers(handles))[index].x - to);
  expect.soft(off, 'range handle vs pointer mid-drag (px)').toBeLessThan(3);
  await session.page.mouse.up();
}

test('range with snapping on: ends dragged to 1e-4 and 1e-1 land there, not on candidates', async ({}, testInfo) => {
  expect(await py(session.page, NB, 'chart.snap')).toBe(true);
  if (!(await py(session.page, NB, 'chart.selected_range is not None'))) await session.page.getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'chart.selected_range is not None')).toBe(true);
  await dragRangeEnd(1, 1e-1);
  const highEnd = async () => (await py<number[]>(session.page, NB, 'list(chart.selected_range)'))[1];
  await expect.poll(async () => Math.abs(Math.log10((await highEnd()) / 1e-1))).toBeLessThan(0.01);
  await dragRangeEnd(0, 1e-4);
  const cands = await py<number[]>(session.page, NB, 'sorted(c.lr for c in result.candidates)');
  // Within a pixel or two (about 1 % of an LR on this 5-decade axis), and on no candidate.
  await expect
    .poll(async () => {
      const [low, high] = await py<[number, number]>(session.page, NB, 'list(chart.selected_range)');
      return [Math.abs(Math.log10(low / 1e-4)) < 0.01, Math.abs(Math.log10(high / 1e-1)) < 0.01];
    })
    .toEqual([true, true]);
  const [low, high] = await py<[number, number]>(session.page, NB, 'list(chart.selected_range)');
  console.log(`range dropped at 1e-4 .. 1e-1 landed at ${low} .. ${high}; candidates ${cands.join(', ')}`);
  expect(cands).not.toContain(low);
  expect(cands).not.toContain(high);
  await session.page.mouse.move(1, 1);
  await widgetShot(session.page, 'range-snap-on', testInfo);
});

test('a NaN loss at the first batch: no console errors, the planned axis, advice in the status', async () => {
  // What the widget does with such a sweep, on this chart (no Keras needed): the live start,
  // one NaN point drawn live, then the result (stop_reason "non_finite", one step).
  await kernelRun(
    session.page,
    NB,
    `from lrwidget.runner import LiveSweep
plan = np.geomspace(1e-7, 10.0, 200)
chart.begin_live(plan)
live = LiveSweep(plan, result.settings)
live.add(0, float("nan"))
chart.refresh_live(chart.draw_live(live))
nan_result = lrwidget.SweepResult(lrs=plan[:1], losses=np.array([np.nan]), stop_reason="non_finite")
chart.set_results([nan_result], keep_selection=True)`,
  );
  await settled(session.page, NB);
  await nextFrames(session.page, 10); // bqplot draws on its next frames: any error is logged by now
  await expect(session.page.locator('.lrwidget-status')).toContainText('NaN or inf from the first batch');
  const [lo, hi] = await py<[number, number]>(session.page, NB, '[chart.x_scale.min, chart.x_scale.max]');
  expect(Math.log10(hi / lo), 'decades on the x axis').toBeGreaterThan(7);
  const broken = await session.page
    .locator(`${FIGURE} path`)
    .evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? '').filter((d) => d.includes('null') || d.includes('NaN')));
  expect(broken, 'SVG paths with no valid data').toEqual([]);
  console.log(`the kernel's lrwidget: ${await py<string>(session.page, NB, 'lrwidget.__file__')}`);
});
