// Issue 22, major 2: a sweep that fails (here: 63 input columns for a 64-input model) must say
// why. The status line names the cause (Keras's line "... expected axis -1 of input shape to
// have value 64, but received input with shape (None, 63)", not the last line of its message,
// "• kwargs=<class 'inspect._empty'>"), and the error is shown in full right under Run.
import { expect, test } from '@playwright/test';
import { FIGURE } from '../support/chart';
import { watchConsole } from '../support/console';
import { openNotebook, py, runAllCells, shutdownKernel } from '../support/notebook';

const NB = 'error_cause.ipynb';

test('a failed sweep names its cause in the status line and shows the error under Run', async ({ page }) => {
  const console_ = watchConsole(page);
  await openNotebook(page, NB);
  await runAllCells(page, NB);
  await page.locator(`${FIGURE} svg.svg-figure`).scrollIntoViewIfNeeded();

  await page.locator('.lrwidget-run').click();
  const status = page.locator('.lrwidget-status');
  await expect(status).toContainText('error: ValueError', { timeout: 120_000 });
  await expect(status).toContainText('expected axis -1 of input shape to have value 64');
  await expect(status).toContainText('(None, 63)');
  await expect(status).not.toContainText('kwargs');

  // In full, between the buttons and the chart: where the user clicked Run.
  const messages = page.locator('.lrwidget-messages');
  await expect(messages).toContainText('The sweep failed: ValueError: Input 0');
  await expect(messages).toContainText('Arguments received by');
  const run = (await page.locator('.lrwidget-run').boundingBox())!;
  const shown = (await messages.boundingBox())!;
  const chart = (await page.locator(`${FIGURE}`).boundingBox())!;
  expect(shown.y, 'the error is shown below Run').toBeGreaterThan(run.y);
  expect(shown.y, 'the error is shown above the chart').toBeLessThan(chart.y);
  await expect(page.locator('.lrwidget-run')).toBeEnabled();
  expect(await py(page, NB, 'type(finder.error).__name__')).toBe('ValueError');
  await shutdownKernel(page, NB);
  console_.check();
});
