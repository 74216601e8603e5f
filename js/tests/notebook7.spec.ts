// The same notebook in Notebook 7 (served by the same Jupyter server under /tree and
// /notebooks/): the widget renders, Run draws a growing curve, Stop ends the sweep.
import { expect, test } from '@playwright/test';
import { FIGURE, pointsDrawn } from '../support/chart';
import { watchConsole } from '../support/console';
import { openNotebook, py, runAllCells, shutdownKernel } from '../support/notebook';

test('Notebook 7 opens and renders the widget', async ({ page, request }) => {
  const console_ = watchConsole(page);
  const url = process.env.JUPYTER_URL!;
  const headers = { Authorization: `token ${process.env.JUPYTER_TOKEN}` };
  // Notebook 7 is there: its file browser answers under /tree.
  const tree = await request.get(`${url}/tree`, { headers });
  expect(tree.ok(), 'is Notebook 7 installed? (pip install notebook)').toBe(true);

  // A copy of the notebook, so that its kernel is not the one the JupyterLab scenarios use.
  const copy = await request.post(`${url}/api/contents/`, { headers, data: { copy_from: 'widget.ipynb' } });
  expect(copy.ok()).toBe(true);
  const name: string = (await copy.json()).path;

  await openNotebook(page, name, 'notebook');
  // Notebook 7 logs errors of its own while it starts (seen with 7.5: a missing settings
  // 'schema', 'filebrowser:open-path' not registered, a 403), before any cell runs; from here
  // on, every error counts.
  console_.reset();
  expect(new URL(page.url()).pathname).toBe(`/notebooks/${name}`);
  await runAllCells(page, name);
  const figure = page.locator(`${FIGURE} svg.svg-figure`);
  await expect(figure).toBeVisible();
  for (const css of ['.lrwidget-run', '.lrwidget-stop', '.lrwidget-apply']) {
    await expect(page.locator(css)).toBeVisible();
  }

  // It is live here too: the curve grows, then Stop ends the sweep.
  await page.locator('.lrwidget-run').click();
  await expect.poll(() => pointsDrawn(page), { timeout: 120_000 }).toBeGreaterThan(10);
  const first = await pointsDrawn(page);
  await expect.poll(() => pointsDrawn(page)).toBeGreaterThan(first);
  await page.locator('.lrwidget-stop').click();
  await expect(page.locator('.lrwidget-run')).toBeEnabled({ timeout: 5_000 });
  expect(await py(page, name, 'finder.result.stop_reason')).toBe('stopped');
  await expect.poll(async () => (await pointsDrawn(page)) === (await py<number>(page, name, 'len(finder.result)'))).toBe(true);
  await shutdownKernel(page, name);
  console_.check();
});
