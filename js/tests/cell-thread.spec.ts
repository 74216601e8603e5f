// A sweep that keeps its cell busy (Colab's way: `finder.run(background=False)`, and a cell
// waiting with `finder.run(block=True)`) still draws live and answers the page: a click on the
// chart picks, a click on Stop ends the sweep, and the model comes back bitwise.
//
// While the cell runs, the kernel holds back other requests until it is done, so nothing is
// read from the kernel mid-sweep: the page is watched instead (the kernel's busy status, the
// points drawn, the handle), and the kernel is asked afterwards.
import { expect, test } from '@playwright/test';
import { FIGURE, handleDot, pointsDrawn } from '../support/chart';
import { cellDone as cellDoneIn, kernelRun, py, startCell } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'cell_thread.ipynb';
const NUM_STEPS = 1000; // as in the notebook: 30 s at least, ended early by Stop
// The optimizer is built first, so that its momenta exist to be compared too.
const BEFORE = 'model.optimizer.build(model.trainable_variables)\nbefore = state(model)';

const session = sharedNotebook(NB, {
  viewport: { width: 1280, height: 1000 },
  run: true,
  before: (page) => page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded(),
});

const cellDone = () => cellDoneIn(session.page);
const kernelBusy = () =>
  session.page.evaluate((name) => {
    const app = (window as any).jupyterapp;
    for (const w of app.shell.widgets('main')) {
      if (w.context?.path === name) return w.sessionContext.session.kernel.status === 'busy';
    }
    return false;
  }, NB);

/** Looks at the chart while the cell runs until it has grown `looks` times; returns the counts. */
async function watchGrow(looks: number): Promise<number[]> {
  const seen: number[] = [];
  const deadline = Date.now() + 120_000;
  while (seen.length < looks && Date.now() < deadline && !(await cellDone())) {
    const drawn = await pointsDrawn(session.page);
    if ((await kernelBusy()) && drawn > 0 && (seen.length === 0 || drawn > seen[seen.length - 1])) {
      seen.push(drawn);
    }
    await session.page.waitForTimeout(400); // the interval between looks, not a wait for an outcome
  }
  return seen;
}

/** Clicks the plot area near its left edge, where the sweep has already been. */
async function clickPlotNearLeft() {
  const box = (await session.page.locator(`${FIGURE} svg.svg-figure`).boundingBox())!;
  // fig_margin in lrwidget/figure.py: top 58, bottom 45, left 66, right 40 (this stays inside).
  const x = box.x + 60 + 0.04 * (box.width - 100);
  const y = box.y + 30 + 0.9 * (box.height - 75);
  await session.page.mouse.click(x, y);
}

async function stopAndCheck(maxSteps: number) {
  await session.page.locator('.lrwidget-stop').click();
  await expect.poll(cellDone, { timeout: 30_000 }).toBe(true);
  const [reason, n, same] = await py<[string, number, boolean]>(
    session.page,
    NB,
    '[result.stop_reason, len(result), same_state(before, state(model))]',
  );
  expect(reason).toBe('stopped');
  expect(n).toBeLessThan(maxSteps);
  expect(same, 'every model and optimizer variable is bitwise restored').toBe(true);
}

test("cell's thread: the chart grows while the cell runs, a click picks, Stop ends it", async () => {
  await kernelRun(session.page, NB, BEFORE);
  await startCell(session.page, NB, 'result = finder.run(background=False)');
  const looks = await watchGrow(3);
  console.log(`points drawn while the cell was busy: ${looks.join(', ')}`);
  expect(looks.length, 'looks with a growing curve while the kernel was busy').toBeGreaterThanOrEqual(3);

  // A click on the chart mid-sweep: the kernel answers by drawing the selection's handle.
  await expect(await handleDot(session.page)).toBeHidden(); // a new sweep starts with no pick
  await clickPlotNearLeft();
  await expect(await handleDot(session.page)).toBeVisible({ timeout: 5_000 });
  expect(await kernelBusy(), 'the click was answered while the cell still ran').toBe(true);

  await stopAndCheck(NUM_STEPS);
  const [picked, lo, hi] = await py<[number, number, number]>(
    session.page,
    NB,
    '[finder.selected_lr, float(result.lrs[0]), float(result.lrs[-1])]',
  );
  expect(picked).toBeGreaterThanOrEqual(lo);
  expect(picked).toBeLessThanOrEqual(hi);
});

test('a cell waiting with run(block=True) still answers Stop', async () => {
  await kernelRun(session.page, NB, BEFORE);
  await startCell(session.page, NB, 'result = finder.run(block=True)');
  const looks = await watchGrow(2);
  expect(looks.length, 'looks with a growing curve while the cell waited').toBeGreaterThanOrEqual(2);
  await stopAndCheck(NUM_STEPS);
});
