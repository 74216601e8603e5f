// Proves the harness itself, independent of lrwidget: the server runs a notebook, bqplot draws
// SVG in the page, and a click on a point reaches the kernel. If this fails, the widget
// scenarios cannot tell anything.
import { expect, test } from '@playwright/test';
import { watchConsole } from '../support/console';
import { openNotebook, py, runAllCells, shutdownKernel } from '../support/notebook';

const NB = 'harness.ipynb';

test('a click on a bqplot point reaches the kernel', async ({ page }) => {
  const console_ = watchConsole(page);
  await openNotebook(page, NB);
  await runAllCells(page, NB);
  const dots = page.locator('.harness-figure g.object_grp');
  await expect(dots).toHaveCount(3);
  await dots.nth(1).click();
  await expect.poll(() => py(page, NB, 'clicked')).toEqual([1]);
  await shutdownKernel(page, NB);
  console_.check();
});
