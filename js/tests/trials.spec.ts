// Trials in JupyterLab: after a sweep, Try trains a short run at each of a few LRs and draws
// each one's loss per step live in a panel under the chart (fixtures/trials.ipynb); the winner is
// selected, and a click on a trial's line or on its square on the chart selects that trial's
// LR, read back from the kernel.
import { expect, Locator, test } from '@playwright/test';
import { FIGURE, marks } from '../support/chart';
import { openNotebook, py, runAllCells, settled } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'trials.ipynb';
const TRIALS = '.lrwidget-trials';

const session = sharedNotebook(NB, { viewport: { width: 1280, height: 1100 }, shutdown: false });

/** The trials panel's line marks, one per trial, in order (bqplot's mark groups, as chart.ts). */
function trialLines(): Locator {
  return session.page.locator(`${TRIALS} svg.svg-figure > g > g:first-of-type > g:not(.g_legend)`);
}

/** How many points a line mark draws: one M or L command per point of its path. */
async function points(line: Locator): Promise<number> {
  const d = await line.locator('path.line').first().getAttribute('d');
  return (d ?? '').match(/[ML]/g)?.length ?? 0;
}

/**
 * A point of trial `i`'s line that the browser's own hit test gives to that line (not to a
 * line drawn over it), in page coordinates; null if none of the points tried is.
 */
async function pointOnLine(i: number): Promise<{ x: number; y: number } | null> {
  const path = trialLines().nth(i).locator('path.line').first();
  return path.evaluate((el: SVGPathElement) => {
    const total = el.getTotalLength();
    const ctm = el.getScreenCTM();
    if (!ctm || total === 0) return null;
    for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.9, 0.1, 0.95, 0.05]) {
      const p = el.getPointAtLength(total * f).matrixTransform(ctm);
      if (document.elementFromPoint(p.x, p.y) === el) return { x: p.x, y: p.y };
    }
    return null;
  });
}

test('Try draws each trial live under the chart and selects the winner', async () => {
  await openNotebook(session.page, NB);
  await runAllCells(session.page, NB);
  const figure = session.page.locator(`${FIGURE} svg.svg-figure`);
  await expect(figure).toBeVisible();
  console.log(`lrwidget in the kernel: ${await py(session.page, NB, 'lrwidget.__file__')}`);
  await expect(session.page.locator('.lrwidget-try')).toBeDisabled(); // nothing to try before a sweep
  await session.page.locator('.lrwidget-run').click();
  await expect.poll(() => py(session.page, NB, 'finder.result is not None and not finder.running'), {
    timeout: 120_000,
  }).toBe(true);
  const box = session.page.locator('.lrwidget-trials-box');
  expect((await box.boundingBox())?.height ?? 0, 'the panel folded away before any trial').toBeLessThan(1);

  await py(session.page, NB, 'setattr(pace, "seconds", 0.03) or None');
  await session.page.locator('.lrwidget-try').click();
  await expect.poll(async () => (await box.boundingBox())?.height ?? 0).toBeGreaterThan(200);
  await session.page.locator(TRIALS).scrollIntoViewIfNeeded();

  // While the trials run, a running trial's line grows and the finished ones stay whole.
  const looks: { trial: number; drawn: number }[] = [];
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const [running, done] = await py<[boolean, number[]]>(
      session.page,
      NB,
      '[finder.running, [len(v) for v in finder.runner.result.losses] if finder.running else []]',
    );
    if (!running) break;
    const trial = done.findIndex((n, k) => n > 0 && (k === done.length - 1 || done[k + 1] === 0));
    if (trial >= 0 && (await trialLines().count()) > trial) {
      const drawn = await points(trialLines().nth(trial));
      const last = looks[looks.length - 1];
      if (drawn > 0 && (!last || last.trial !== trial || drawn > last.drawn)) looks.push({ trial, drawn });
    }
    await session.page.waitForTimeout(300); // the interval between looks, not a wait for an outcome
  }
  console.log(`trial/points at successive looks: ${looks.map((l) => `${l.trial}/${l.drawn}`).join(', ')}`);
  const [n, steps] = await py<[number, number]>(session.page, NB, '[len(finder.trials), finder.trials.steps]');
  const growing = looks.filter((l, k) => k > 0 && looks[k - 1].trial === l.trial && l.drawn > looks[k - 1].drawn);
  expect(growing.length, 'looks at a trial line growing while it ran').toBeGreaterThanOrEqual(1);
  expect(Math.min(...looks.map((l) => l.drawn)), 'a line drawn before its trial ended').toBeLessThan(steps);

  await expect(trialLines()).toHaveCount(n);
  expect(await py(session.page, NB, 'same_state(initial, state(model))')).toBe(true);
  const [winner, selected] = await py<[number, number]>(session.page, NB, '[finder.trials.winner, finder.selected_lr]');
  expect(selected).toBe(winner); // the winner is selected
  await expect(session.page.locator('.lrwidget-status')).toContainText(/winner \S+/);
  await expect(session.page.locator(`${TRIALS} .g_legend`)).toContainText('(winner)');
  // Each trial's line is drawn in the colour of its square on the LR chart.
  const squares = marks(session.page).nth((await marks(session.page).count()) - 5).locator('g.object_grp path.dot');
  await expect(squares).toHaveCount(n);
  for (let i = 0; i < n; i++) {
    const line = await trialLines().nth(i).locator('path.line').first().evaluate((e) => getComputedStyle(e).stroke);
    const square = await squares.nth(i).evaluate((e) => getComputedStyle(e).fill);
    expect(square, `trial ${i}: square and line in one colour`).toBe(line);
  }
});

test('a click on a trial\'s line or its square selects that LR, read back from the kernel', async () => {
  const [lrs, bestIndex] = await py<[number[], number]>(session.page, NB, '[list(finder.trials.lrs), finder.trials.winner_index]');
  const others = lrs.map((_, i) => i).filter((i) => i !== bestIndex);
  let clicked = 0;
  for (const i of others) {
    const at = await pointOnLine(i);
    if (at === null) continue; // this line lies under others everywhere tried
    await session.page.mouse.click(at.x, at.y);
    await settled(session.page, NB);
    await expect.poll(() => py(session.page, NB, 'finder.selected_lr')).toBe(lrs[i]);
    clicked++;
  }
  expect(clicked, 'trial lines a click could reach').toBeGreaterThanOrEqual(1);
  // The winner's square on the chart: back to the winner, exactly (no snapping).
  // (Its symbol, not its group: the group's box holds the "winner" label beside it too.)
  const squares = marks(session.page).nth((await marks(session.page).count()) - 5).locator('g.object_grp path.dot');
  await squares.nth(bestIndex).click();
  await expect.poll(() => py(session.page, NB, 'finder.selected_lr')).toBe(lrs[bestIndex]);
  await expect(session.page.locator('.lrwidget-status')).toContainText('selected');
});
