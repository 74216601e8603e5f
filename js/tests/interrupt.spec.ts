// Issue 22, minor 10: Jupyter's interrupt button ends a sweep that runs in the cell's own thread
// (Colab's way). Afterwards the widget must show a stopped sweep: the progress says
// "interrupted" (no ETA), the status line no "press Run to start the sweep", the curve so far
// stays and Save image writes it; the model is bitwise restored.
// Issue 29, major 4: the same for a cell that waits on a background sweep
// (finder.run(block=True)): the interrupt ends the sweep it waits for, not only the cell.
import { expect, test, type Page } from '@playwright/test';
import { FIGURE, pointsDrawn } from '../support/chart';
import { watchConsole } from '../support/console';
import {
  cellDone,
  interruptKernel,
  kernelRun,
  openNotebook,
  py,
  runAllCells,
  shutdownKernel,
  startCell,
} from '../support/notebook';

const NB = 'interrupt.ipynb'; // cell_thread.ipynb's model and finder, a notebook of its own

/** Starts `code` as a cell does, lets the sweep draw, then presses Jupyter's interrupt. */
async function interruptRun(page: Page, code: string) {
  await startCell(page, NB, code);
  await expect.poll(() => pointsDrawn(page), { timeout: 120_000 }).toBeGreaterThan(20);
  await interruptKernel(page, NB);
  await expect.poll(() => cellDone(page), { timeout: 30_000 }).toBe(true);
}

test("Jupyter's interrupt of a cell waiting on a background sweep ends that sweep", async ({ page }) => {
  const console_ = watchConsole(page);
  await openNotebook(page, NB);
  await runAllCells(page, NB);
  await kernelRun(page, NB, 'model.optimizer.build(model.trainable_variables)\nbefore = state(model)');
  await page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded();

  await interruptRun(page, 'finder.run(block=True, background=True)');

  const progress = page.locator('.lrwidget .widget-hprogress + .widget-label');
  await expect(progress).toHaveText(/^\d+ \/ 1000 · interrupted$/);
  await expect(page.locator('.lrwidget-status')).toContainText('interrupted');
  await expect(page.locator('.lrwidget-run')).toBeEnabled();
  const [running, n, same] = await py<[boolean, number, boolean]>(
    page,
    NB,
    '[finder.running, len(finder.result), same_state(before, state(model))]',
  );
  expect(running, 'the sweep ended with the cell').toBe(false);
  expect(n).toBeGreaterThan(20);
  expect(same, 'every model and optimizer variable is bitwise restored').toBe(true);
  // Nothing runs on behind the cell: a second later the curve has not grown.
  await page.waitForTimeout(1000); // a sampling interval: the sweep would add ~100 points
  expect(await py<number>(page, NB, 'len(finder.result)')).toBe(n);
  expect(await pointsDrawn(page)).toBe(n);
  await shutdownKernel(page, NB);
  console_.check();
});

test("Jupyter's interrupt of a cell-thread sweep leaves a stopped sweep that can be saved", async ({ page }) => {
  const console_ = watchConsole(page);
  await openNotebook(page, NB);
  await runAllCells(page, NB);
  await kernelRun(page, NB, 'model.optimizer.build(model.trainable_variables)\nbefore = state(model)');
  await page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded();

  // The sweep runs in the cell, as finder.run() does in Colab; then the interrupt button.
  await interruptRun(page, 'finder.run(background=False)');

  const progress = page.locator('.lrwidget .widget-hprogress + .widget-label');
  await expect(progress).toHaveText(/^\d+ \/ 1000 · interrupted$/);
  const status = page.locator('.lrwidget-status');
  await expect(status).toContainText('interrupted');
  await expect(status).not.toContainText('press Run to start');
  await expect(page.locator('.lrwidget-run')).toBeEnabled();
  const [reason, n, same] = await py<[string, number, boolean]>(
    page,
    NB,
    '[finder.result.stop_reason, len(finder.result), same_state(before, state(model))]',
  );
  expect(reason).toBe('stopped');
  expect(n).toBeGreaterThan(20);
  expect(same, 'every model and optimizer variable is bitwise restored').toBe(true);
  expect(await pointsDrawn(page)).toBe(n); // the curve so far stays

  // Save image writes the partial curve, to a file of this chart's own, and says where.
  await page.locator('.lrwidget-save').click();
  await expect(status).toContainText('saved /');
  const text = (await status.textContent())!;
  const path = text.match(/saved (\S+\.png)/)![1];
  expect(path).toMatch(/\/lr_finder[\w-]*\.png$/);
  expect(await py(page, NB, `open(${JSON.stringify(path)}, "rb").read(4) == b"\\x89PNG"`)).toBe(true);
  await shutdownKernel(page, NB);
  console_.check();
});
