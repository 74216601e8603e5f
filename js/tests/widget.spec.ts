// lrwidget's LRFinderWidget in JupyterLab: live drawing, candidates, click and drag picking,
// Apply and Stop, each checked against the values the kernel holds.
//
// The scenarios run in order on one page and one kernel (fixtures/widget.ipynb): the first
// sweep feeds the picking scenarios, and starting TensorFlow in a kernel once is enough.
import { expect, test } from '@playwright/test';
import { candidateMarkers, centers, FIGURE, handleDot, pointsDrawn, widgetShot } from '../support/chart';
import { kernelRun, openNotebook, py, runAllCells, settled } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'widget.ipynb';
const NUM_STEPS = 300; // as in the notebook

const session = sharedNotebook(NB, { viewport: { width: 1280, height: 1000 }, shutdown: false });

/** Sorted LRs of the finished sweep's candidates, straight from the kernel. */
const candidateLrs = () => py<number[]>(session.page, NB, 'sorted(c.lr for c in finder.result.candidates)');

test('live: the curve grows while the sweep runs', async ({}, testInfo) => {
  await openNotebook(session.page, NB);
  await runAllCells(session.page, NB);
  const figure = session.page.locator(`${FIGURE} svg.svg-figure`);
  await expect(figure).toBeVisible();
  await figure.scrollIntoViewIfNeeded();
  expect(await py(session.page, NB, '[finder.running, finder.result is None]')).toEqual([false, true]);

  await session.page.locator('.lrwidget-run').click();
  // Each look reads the drawn curve, then asks the kernel whether the sweep still runs: a look
  // followed by running == True was certainly taken mid-sweep.
  const looks: number[] = [];
  let shot = false;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const drawn = await pointsDrawn(session.page);
    const running = await py<boolean>(session.page, NB, 'finder.running');
    if (!running) break;
    if (drawn > 0 && (looks.length === 0 || drawn > looks[looks.length - 1])) {
      looks.push(drawn);
      if (looks.length === 3 && !shot) {
        await widgetShot(session.page, 'mid-sweep', testInfo);
        shot = true;
      }
    }
    await session.page.waitForTimeout(600); // the interval between looks, not a wait for an outcome
  }
  console.log(`points drawn at successive looks mid-sweep: ${looks.join(', ')}`);
  expect(looks.length, 'looks with a growing curve before the sweep ended').toBeGreaterThanOrEqual(3);
  expect(looks[looks.length - 1]).toBeLessThan(NUM_STEPS);

  // Once it has ended, the chart shows every point of the result.
  await expect.poll(() => py(session.page, NB, 'finder.running'), { timeout: 120_000 }).toBe(false);
  const [n, reason] = await py<[number, string]>(session.page, NB, '[len(finder.result), finder.result.stop_reason]');
  expect(['completed', 'diverged']).toContain(reason);
  await expect.poll(() => pointsDrawn(session.page)).toBe(n);
  // The sweep leaves the model's weights as they were.
  expect(await py(session.page, NB, '[np.array_equal(a.numpy(), b) for a, b in zip(model.weights, initial)]'))
    .not.toContain(false);
});

test('candidates: one marker per candidate minimum', async () => {
  const lrs = await candidateLrs();
  expect(lrs.length, 'this sweep should have at least two candidates').toBeGreaterThanOrEqual(2);
  await expect(await candidateMarkers(session.page)).toHaveCount(lrs.length);
});

test('click: a candidate marker selects exactly its LR', async () => {
  const lrs = await candidateLrs();
  const markers = await candidateMarkers(session.page);
  const before = await py<number>(session.page, NB, 'finder.selected_lr');
  // Markers sorted left to right match the candidates sorted by LR (the x axis is log LR).
  // Click one that is not selected already, so that the click has to change the value.
  const i = lrs.findIndex((lr) => lr !== before);
  const leftToRight = await centers(markers);
  await markers.nth(leftToRight[i].index).click();
  await expect.poll(() => py<number>(session.page, NB, 'finder.selected_lr')).toBe(lrs[i]);
});

test('drag: the handle moves the LR and snaps to the nearest candidate on release', async ({}, testInfo) => {
  const lrs = await candidateLrs();
  const xs = (await centers(await candidateMarkers(session.page))).map((c) => c.x);
  // Drop between the two neighbours that are furthest apart, 30 % of the way: nearer the left one.
  let k = 0;
  for (let j = 1; j < xs.length - 1; j++) if (xs[j + 1] - xs[j] > xs[k + 1] - xs[k]) k = j;
  const dropX = xs[k] + 0.3 * (xs[k + 1] - xs[k]);
  // The LR under the drop point, interpolated on the log axis between the two markers.
  const dropLr = Math.exp(Math.log(lrs[k]) + 0.3 * (Math.log(lrs[k + 1]) - Math.log(lrs[k])));
  const before = await py<number>(session.page, NB, 'finder.selected_lr');

  const handle = await handleDot(session.page);
  const box = (await handle.boundingBox())!;
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await session.page.mouse.move(start.x, start.y);
  await session.page.mouse.down();
  // First 150 px away (towards the wider side), where the triangle must be under the pointer
  // also once the kernel's answers to the drag are in (an answer that rewrote the handle put it
  // back where the drag began), then on to the drop point.
  const figureBox = (await session.page.locator(`${FIGURE} svg.svg-figure`).boundingBox())!;
  const away = start.x + (start.x < figureBox.x + figureBox.width / 2 ? 150 : -150);
  await session.page.mouse.move(away, start.y, { steps: 12 });
  await settled(session.page, NB);
  expect(Math.abs((await centers(handle))[0].x - away), 'handle vs pointer 150 px into the drag').toBeLessThan(3);
  await session.page.mouse.move(dropX, start.y, { steps: 12 });
  // Mid-drag, the selection follows the pointer.
  await expect
    .poll(async () => Math.abs(Math.log(await py<number>(session.page, NB, 'finder.selected_lr') / dropLr)))
    .toBeLessThan(0.1); // about 6 px on this axis
  expect(await py<number>(session.page, NB, 'finder.selected_lr')).not.toBe(before);
  // ... and so does the triangle itself, also once the kernel's answers to the drag are in
  // (an answer that rewrote the handle put it back where the drag began).
  await expect.poll(async () => Math.abs((await centers(handle))[0].x - dropX)).toBeLessThan(3);
  await settled(session.page, NB);
  expect(Math.abs((await centers(handle))[0].x - dropX), 'handle vs pointer mid-drag (px)').toBeLessThan(3);
  await session.page.mouse.up();
  // On release, it snaps to the nearest candidate in log space: the left neighbour.
  await expect.poll(() => py<number>(session.page, NB, 'finder.selected_lr')).toBe(lrs[k]);
  // The handle itself is redrawn on the candidate.
  await expect.poll(async () => Math.abs((await centers(handle))[0].x - xs[k])).toBeLessThan(1.5);
  // For the README's picture: a picked range too (its band, from a decade below the pick).
  await session.page.getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'finder.selected_range is not None')).toBe(true);
  // Move the pointer away: hovering the chart shows bqplot's toolbar and tooltips.
  await session.page.mouse.move(1, 1);
  await widgetShot(session.page, 'after-pick', testInfo);
  await session.page.getByText('pick a range').click(); // off again for the scenarios after this one
  await expect.poll(() => py(session.page, NB, 'finder.selected_range')).toBeNull();
});

test('apply: the optimizer gets the chosen LR', async () => {
  const chosen = await py<number>(session.page, NB, 'finder.selected_lr');
  expect(await py<number>(session.page, NB, 'float(model.optimizer.learning_rate.numpy())')).not.toBeCloseTo(chosen, 6);
  await session.page.locator('.lrwidget-apply').click();
  // The LR variable is float32: compare with the choice rounded the same way.
  await expect
    .poll(() => py(session.page, NB, 'float(model.optimizer.learning_rate.numpy()) == float(np.float32(finder.selected_lr))'))
    .toBe(true);
  expect(await py<number>(session.page, NB, 'finder.selected_lr')).toBe(chosen);
});

test('stop: ends a running sweep within 2 s and restores the weights', async () => {
  // Time stamps taken in the kernel: when the Stop click arrives, when the sweep has ended.
  await kernelRun(
    session.page,
    NB,
    `before_stop = state(model)
stamps = {}
finder.stop_button.on_click(lambda b: stamps.setdefault("click", time.perf_counter()))
finder.observe(lambda ch: stamps.setdefault("ended", time.perf_counter()) if not ch["new"] else None, "running")`,
  );
  await session.page.locator('.lrwidget-run').click();
  await expect.poll(() => py(session.page, NB, 'finder.running and len(finder.result) >= 30')).toBe(true);
  await session.page.locator('.lrwidget-stop').click();
  const clicked = Date.now();
  // The front end sees the end (Run enabled again) within 2 s of the click ...
  await expect(session.page.locator('.lrwidget-run')).toBeEnabled({ timeout: 2_000 });
  console.log(`Stop click -> Run enabled in the browser: ${Date.now() - clicked} ms`);
  // ... and so does the kernel, measured on its own clock.
  const took = await py<number>(session.page, NB, 'stamps["ended"] - stamps["click"]');
  console.log(`Stop click -> sweep ended in the kernel: ${(took * 1000).toFixed(0)} ms`);
  expect(took).toBeLessThan(2);
  const [reason, n] = await py<[string, number]>(session.page, NB, '[finder.result.stop_reason, len(finder.result)]');
  expect(reason).toBe('stopped');
  expect(n).toBeLessThan(NUM_STEPS);
  // Every model and optimizer variable is bitwise what it was before Run.
  expect(await py(session.page, NB, 'same_state(before_stop, state(model))')).toBe(true);
});

test('live: candidates are provisional, and a click on one lands on the final candidate', async () => {
  if (!(await session.page.evaluate(() => (window as any).jupyterapp !== undefined))) {
    await openNotebook(session.page, NB); // run on its own (-g provisional)
    await runAllCells(session.page, NB);
  }
  // Slower batches: time to see the live diamonds and click one well before the sweep ends.
  await kernelRun(session.page, NB, 'finder.sweep_args["callbacks"] = [Pace(0.12)]');
  await session.page.locator('.lrwidget-run').click();
  await expect.poll(() => py(session.page, NB, 'finder.running')).toBe(true);
  // The first live diamonds: drawn grey (they still move), and the status says so.
  const markers = await candidateMarkers(session.page);
  await expect.poll(() => markers.count(), { timeout: 120_000 }).toBeGreaterThan(0);
  expect(await py(session.page, NB, 'finder.running'), 'diamonds seen mid-sweep').toBe(true);
  const fill = await markers.first().locator('path').evaluate((e) => getComputedStyle(e).fill);
  // Soft: where the pick lands at the end is checked as well.
  expect.soft(fill, "a live candidate's fill: grey, whatever the sweep's colour").toBe('rgb(138, 138, 138)');
  await expect.soft(session.page.locator('.lrwidget-status')).toContainText('provisional', { timeout: 5_000 });
  // A click on a live diamond holds the pick on that candidate ...
  await markers.first().click();
  await expect.soft(session.page.locator('.lrwidget-status')).toContainText('follows the', { timeout: 5_000 });
  expect(await py(session.page, NB, 'finder.running'), 'the click was made mid-sweep').toBe(true);
  const label = await py<string>(session.page, NB, 'finder.chart.nearest_candidate(finder.selected_lr).label');
  // ... until the sweep ends: then it is that candidate's final LR, and the status says so.
  await expect.poll(() => py(session.page, NB, 'finder.running'), { timeout: 120_000 }).toBe(false);
  const final = await py<[number, string][]>(session.page, NB, '[[c.lr, c.label] for c in finder.result.candidates]');
  const picked = await py<number>(session.page, NB, 'finder.selected_lr');
  console.log(`clicked the live ${label} candidate; final candidates ${JSON.stringify(final)}; picked ${picked}`);
  expect(final.map(([lr]) => lr), 'the pick is one of the final candidates').toContain(picked);
  expect(final.find(([, l]) => l === label)?.[0] ?? picked).toBe(picked);
  await expect(session.page.locator('.lrwidget-status')).toContainText('moved to the final');
  // Finished candidates take the sweep's colour again.
  const after = await (await candidateMarkers(session.page)).first().locator('path').evaluate((e) => getComputedStyle(e).fill);
  expect(after).not.toBe(fill);
});
