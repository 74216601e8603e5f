// Issue 22, major 1: re-running the finder's cell during a sweep must not orphan the sweep.
//
// Run is clicked, the curve grows, then the finder's cell is run again (the old view is
// replaced). The new finder stops the old sweep when it is made (the model comes back
// bitwise), says so, and its own Run starts a sweep at once instead of being refused.
import { expect, test } from '@playwright/test';
import { FIGURE, pointsDrawn } from '../support/chart';
import { watchConsole } from '../support/console';
import { kernelRun, openNotebook, py, runAllCells, shutdownKernel } from '../support/notebook';

const NB = 'rerun.ipynb';
const FINDER_CELL = 2; // markdown, set-up, finder

test("re-running the finder's cell stops the old sweep and the new Run starts", async ({ page }) => {
  const console_ = watchConsole(page);
  await openNotebook(page, NB);
  await runAllCells(page, NB);
  await kernelRun(page, NB, 'model.optimizer.build(model.trainable_variables)\nbefore = state(model)');
  await page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded();

  await page.locator('.lrwidget-run').click();
  await expect.poll(() => pointsDrawn(page), { timeout: 120_000 }).toBeGreaterThan(10);
  await kernelRun(page, NB, 'old = finder');
  expect(await py(page, NB, 'old.runner.running')).toBe(true);

  // Run the finder's cell again, as the user does: its output (the old view) is replaced.
  const count = await page.evaluate(
    async ({ name, index }) => {
      const app = (window as any).jupyterapp;
      for (const w of app.shell.widgets('main')) {
        if (w.context?.path !== name) continue;
        app.shell.activateById(w.id);
        w.content.activeCellIndex = index;
        const before = w.content.model.cells.get(index).executionCount;
        await app.commands.execute('notebook:run-cell');
        return before;
      }
      return null;
    },
    { name: NB, index: FINDER_CELL },
  );
  await page.waitForFunction(
    ({ name, index, count }) => {
      const app = (window as any).jupyterapp;
      for (const w of app.shell.widgets('main')) {
        if (w.context?.path !== name) continue;
        const cell = w.content.model.cells.get(index);
        return cell.executionCount !== count && w.sessionContext.session.kernel.status === 'idle';
      }
      return false;
    },
    { name: NB, index: FINDER_CELL, count },
    { timeout: 60_000 },
  );
  await expect(page.locator('.lrwidget')).toHaveCount(2); // one finder: its VBox and its chart

  // The old sweep was stopped when the new finder was made, and the model is restored.
  const [oldRunning, reason, same] = await py<[boolean, string, boolean]>(
    page,
    NB,
    '[old.runner.running, old.runner.result.stop_reason, same_state(before, state(model))]',
  );
  expect(oldRunning, 'the old sweep still runs behind the new view').toBe(false);
  expect(reason).toBe('stopped');
  expect(same, 'every model and optimizer variable is bitwise restored').toBe(true);
  const status = page.locator('.lrwidget-status');
  await expect(status).toContainText('stopped the sweep of the finder on model');

  // The new finder's Run starts at once: no "already running" refusal.
  await page.locator('.lrwidget-run').click();
  await expect.poll(() => py<boolean>(page, NB, 'finder.running'), { timeout: 30_000 }).toBe(true);
  await expect(status).not.toContainText('already running');
  await expect.poll(() => pointsDrawn(page), { timeout: 120_000 }).toBeGreaterThan(10);
  await page.locator('.lrwidget-stop').click();
  await expect(page.locator('.lrwidget-run')).toBeEnabled({ timeout: 10_000 });
  const [newReason, sameAgain] = await py<[string, boolean]>(
    page,
    NB,
    '[finder.result.stop_reason, same_state(before, state(model))]',
  );
  expect(newReason).toBe('stopped');
  expect(sameAgain).toBe(true);
  // The kernel knows which cell made the finder (JupyterLab sends the cell's id): a re-run of
  // that cell replaces it even when the cell builds a new model too (tests/test_concurrency.py).
  expect(await py(page, NB, 'len(lrwidget.takeover._made_in)')).toBe(1);
  await shutdownKernel(page, NB);
  console_.check();
});

// The other half of major 1: a finder made before another one's sweep started does not stop
// it by itself, but its refusal says how, and a second click on its Run does it.
test("a second finder's Run names the running sweep and then offers to stop it", async ({ page }) => {
  const NB2 = 'two_finders.ipynb';
  const console_ = watchConsole(page);
  await openNotebook(page, NB2);
  await runAllCells(page, NB2);
  await kernelRun(page, NB2, 'model.optimizer.build(model.trainable_variables)\nbefore = state(model)');
  const run = page.locator('.lrwidget-run');
  const status = page.locator('.lrwidget-status');
  await expect(run).toHaveCount(2);

  await run.nth(0).click();
  await expect.poll(() => py<boolean>(page, NB2, 'first.runner.running'), { timeout: 30_000 }).toBe(true);
  await run.nth(1).scrollIntoViewIfNeeded();
  await run.nth(1).click();
  await expect(status.nth(1)).toContainText("already running on model", { timeout: 10_000 });
  await expect(status.nth(1)).toContainText("click 'Stop other & run'");
  await expect(page.locator('.lrwidget-messages').nth(1)).toContainText('not started');
  await expect(run.nth(1)).toHaveText(/Stop other & run/);
  expect(await py(page, NB2, '[first.runner.running, second.running]')).toEqual([true, false]);

  await run.nth(1).click(); // stops the first sweep and starts this one
  await expect.poll(() => py<boolean>(page, NB2, 'second.running'), { timeout: 30_000 }).toBe(true);
  const [firstRunning, firstReason] = await py<[boolean, string]>(
    page,
    NB2,
    '[first.runner.running, first.runner.result.stop_reason]',
  );
  expect(firstRunning).toBe(false);
  expect(firstReason).toBe('stopped');
  await expect(status.nth(0)).toContainText('stopped by another LRFinderWidget');
  await expect(run.nth(1)).toHaveText(/^\s*Run\s*$/);
  await page.locator('.lrwidget-stop').nth(1).click();
  await expect(run.nth(1)).toBeEnabled({ timeout: 10_000 });
  expect(await py(page, NB2, 'same_state(before, state(model))')).toBe(true);
  await shutdownKernel(page, NB2);
  console_.check();
});
