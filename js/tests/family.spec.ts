// A sweep family in JupyterLab: the members' curves appear one after another in one chart, and a
// click on a member's curve picks that member (fixtures/family.ipynb), read back from the kernel.
import { expect, Locator, test } from '@playwright/test';
import { FIGURE, marks } from '../support/chart';
import { openNotebook, py, runAllCells } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'family.ipynb';
const NUM_STEPS = 300; // as in the notebook

const session = sharedNotebook(NB, { viewport: { width: 1280, height: 1000 }, shutdown: false });

/** How many points a line mark draws: one M or L command per point of its path. */
async function points(line: Locator): Promise<number> {
  const d = await line.locator('path.line').first().getAttribute('d');
  return (d ?? '').match(/[ML]/g)?.length ?? 0;
}

test('the second member is drawn live while the first stays drawn', async () => {
  await openNotebook(session.page, NB);
  await runAllCells(session.page, NB);
  const figure = session.page.locator(`${FIGURE} svg.svg-figure`);
  await expect(figure).toBeVisible();
  await figure.scrollIntoViewIfNeeded();
  console.log(`lrwidget in the kernel: ${await py(session.page, NB, 'lrwidget.__file__')}`);
  await session.page.locator('.lrwidget-run').click();

  // Marks with two members: [0] click catcher, [1] raw of member 1, [2] raw of member 2, ...
  const looks: { first: number; second: number; finished: number }[] = [];
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const [running, index, finished] = await py<[boolean, number, number]>(
      session.page,
      NB,
      '[finder.running, finder.family.index, len(finder.family.finished[0]) if finder.family.finished else 0]',
    );
    if (!running) break;
    if (index === 1 && (await marks(session.page).count()) >= 13) {
      const first = await points(marks(session.page).nth(1));
      const second = await points(marks(session.page).nth(2));
      if (second > 0 && (looks.length === 0 || second > looks[looks.length - 1].second)) {
        looks.push({ first, second, finished });
      }
    }
    await session.page.waitForTimeout(300); // the interval between looks, not a wait for an outcome
  }
  console.log(`member 2 points at successive looks: ${looks.map((l) => l.second).join(', ')}`);
  expect(looks.length, 'looks with a growing second curve before the family ended').toBeGreaterThanOrEqual(2);
  for (const look of looks) {
    expect(look.first, 'the first member stays drawn whole').toBe(look.finished);
    expect(look.second).toBeLessThan(NUM_STEPS);
  }
  await expect(session.page.locator('.lrwidget').first()).toContainText('member 2/2');
  await expect.poll(() => py(session.page, NB, 'finder.running'), { timeout: 120_000 }).toBe(false);
  expect(await py(session.page, NB, 'len(finder.result.results)')).toBe(2);
  expect(await py(session.page, NB, 'same_state(initial, state(model))')).toBe(true);
  // The legend names both members.
  await expect(session.page.locator(`${FIGURE} .g_legend`)).toContainText('momentum=0.9');
});

async function clickCurve(member: number) {
  const k = await py<number | null>(session.page, NB, `readout_point(${member})`);
  expect(k, `a point of member ${member + 1}'s curve to click`).not.toBeNull();
  const readout = marks(session.page).nth(5).locator('g.object_grp').nth(k!);
  const box = await readout.boundingBox();
  expect(box).not.toBeNull();
  await session.page.mouse.click(box!.x + box!.width / 2, box!.y + box!.height / 2);
}

test('a click on a member\'s curve picks that member, read back from the kernel', async () => {
  await clickCurve(0);
  await expect.poll(() => py(session.page, NB, 'finder.selected["momentum"]')).toBe(0.0);
  await clickCurve(1);
  await expect.poll(() => py(session.page, NB, 'finder.selected["momentum"]')).toBe(0.9);
  const [selected, lr, candidates] = await py<[any, number, number[]]>(
    session.page,
    NB,
    '[finder.selected, finder.selected_lr, [c.lr for c in finder.result.results[1].candidates]]',
  );
  expect(selected.learning_rate).toBe(lr);
  if (candidates.length) expect(candidates).toContain(lr); // snapped to that member's candidates
});
