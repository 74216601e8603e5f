// Issue 29 in a real browser (fixtures/issue29.ipynb), every value read back from the kernel:
// the range's high end under the selection's rule can be grabbed at its centre (major 2);
// clicks on the faint raw line pick, and in a family pick that member (major 3); a family's
// menu entry and diamond pick their own member where two members share an LR, and Apply
// agrees (major 1).
//
// Two charts: figure 0 is `chart` (a saved sweep, snapping off), figure 1 the finder's (a
// weight-decay family whose last two members share their curve). Marks (lrwidget/figure.py):
// [0] click catcher, [1..n] raw lines, ...; from the end: -4 range handles, -3 candidates,
// -2 rule, -1 handle.
import { expect, Locator, test } from '@playwright/test';
import { FIGURE } from '../support/chart';
import { py, settled } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'issue29.ipynb';

const session = sharedNotebook(NB, {
  run: true,
  before: async (page) => console.log(`lrwidget in the kernel: ${await py(page, NB, 'lrwidget.__file__')}`),
});

function figure(k: number): Locator {
  return session.page.locator(FIGURE).nth(k);
}

function marksOf(k: number): Locator {
  return figure(k).locator('svg.svg-figure > g > g:first-of-type > g:not(.g_legend)');
}

async function fromEnd(k: number, back: number): Promise<Locator> {
  const all = marksOf(k);
  return all.nth((await all.count()) - back);
}

/** Page coordinates of a line's points, in the order it draws them. */
async function linePoints(line: Locator): Promise<{ x: number; y: number }[]> {
  return line.evaluate((el) => {
    const path = el as SVGPathElement;
    const m = path.getScreenCTM()!;
    const d = path.getAttribute('d') ?? '';
    const out: { x: number; y: number }[] = [];
    for (const [, xs, ys] of d.matchAll(/[ML]\s*(-?[\d.e+-]+)[ ,](-?[\d.e+-]+)/g)) {
      const p = new DOMPoint(Number(xs), Number(ys)).matrixTransform(m);
      out.push({ x: p.x, y: p.y });
    }
    return out;
  });
}

async function centre(item: Locator): Promise<{ x: number; y: number }> {
  const b = (await item.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

test('major 2: the high end of a range is grabbed at its centre, under the selection rule', async () => {
  await figure(0).scrollIntoViewIfNeeded();
  await session.page.locator('.lrwidget-controls').nth(0).getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'chart.selected_range is not None')).toBe(true);
  const [low, high, selected] = await py<[number, number, number]>(
    session.page,
    NB,
    '[*chart.selected_range, chart.selected_lr]',
  );
  expect(high, 'the high end starts on the selected LR, under the rule').toBe(selected);
  const handles = (await fromEnd(0, 4)).locator('path.dot');
  await expect(handles).toHaveCount(2);
  const end = await centre(handles.nth(1));
  const rule = await centre((await fromEnd(0, 2)).locator('path.line'));
  expect(Math.abs(rule.x - end.x), 'the rule runs through the triangle').toBeLessThan(2);
  await session.page.mouse.move(end.x, end.y);
  await session.page.mouse.down();
  await session.page.mouse.move(end.x - 80, end.y, { steps: 10 });
  await session.page.mouse.up();
  await settled(session.page, NB);
  const [low2, high2] = await py<[number, number]>(session.page, NB, 'list(chart.selected_range)');
  console.log(`range ${low} .. ${high} -> ${low2} .. ${high2} after a drag from the high end's centre`);
  expect(low2).toBe(low);
  expect(high2, 'the high end moved left').toBeLessThan(high * 0.8);
  await session.page.locator('.lrwidget-controls').nth(0).getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'chart.selected_range')).toBeNull();
});

test('major 3: each click on a point of the raw line picks the LR under it (snapping off)', async () => {
  await figure(0).scrollIntoViewIfNeeded();
  const lrs = await py<number[]>(session.page, NB, 'raw_points(chart, 0)');
  const raw = await linePoints(marksOf(0).nth(1).locator('path.line'));
  const smooth = await linePoints(marksOf(0).nth(2).locator('path.line'));
  expect(raw.length).toBe(lrs.length);
  // Every marker after the hover readout (mark 3): diamonds, suggestion, minima, handles.
  const markers = await marksOf(0).evaluateAll((els) =>
    els.slice(4).flatMap((m) =>
      [...m.querySelectorAll('g.object_grp')].map((e) => {
        const r = e.getBoundingClientRect(); // the marker and its label, if any
        return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
      }),
    ),
  );
  // Points of the raw line inside the plot, well off the bold one and away from the markers.
  const area = (await figure(0).locator('rect.plotarea_events').boundingBox())!;
  const inside = (p: { x: number; y: number }) =>
    p.x > area.x + 4 && p.x < area.x + area.width - 4 && p.y > area.y + 4 && p.y < area.y + area.height - 4;
  const picks: number[] = [];
  for (let k = 10; k < raw.length - 10 && picks.length < 12; k += 7) {
    const off = Math.abs(raw[k].y - smooth[k].y);
    const p = raw[k];
    const clear = markers.every(
      (m) => p.x < m.left - 8 || p.x > m.right + 8 || p.y < m.top - 8 || p.y > m.bottom + 8,
    );
    if (off > 6 && clear && inside(p)) picks.push(k);
  }
  expect(picks.length, 'raw points off the bold line to click').toBeGreaterThanOrEqual(6);
  let missed = 0;
  for (const k of picks) {
    await session.page.mouse.click(raw[k].x, raw[k].y);
    await settled(session.page, NB);
    const lr = await py<number>(session.page, NB, 'chart.selected_lr');
    const decades = Math.abs(Math.log10(lr / lrs[k]));
    if (decades > 0.02) {
      missed += 1;
      const under = await session.page.evaluate(
        ([x, y]) => {
          const e = document.elementFromPoint(x, y);
          return `${e?.tagName}.${e?.getAttribute('class')} in ${e?.parentElement?.getAttribute('class')}`;
        },
        [raw[k].x, raw[k].y],
      );
      console.log(`point ${k} (LR ${lrs[k]}) picked ${lr}; under the pointer: ${under}`);
    }
  }
  console.log(`${picks.length - missed} of ${picks.length} clicks on the raw line picked its LR`);
  expect(missed, 'clicks on the raw line that picked nothing near the point').toBe(0);
});

test("major 3: in a family a click on a member's raw line picks that member", async () => {
  await figure(1).scrollIntoViewIfNeeded();
  const lrs = await py<number[]>(session.page, NB, 'raw_points(finder.chart, 0)');
  const lines = [0, 1].map((i) => marksOf(1).nth(1 + i).locator('path.line'));
  const [first, second] = [await linePoints(lines[0]), await linePoints(lines[1])];
  expect(first.length).toBe(lrs.length);
  // Where member 1's raw line lies far above member 0's: a point of each.
  const k = first.findIndex((p, j) => j > 20 && second[j].y < p.y - 60);
  expect(k, 'an LR where the two raw lines lie apart').toBeGreaterThan(0);
  for (const [points, decay] of [[second, 1e-3], [first, 0], [second, 1e-3]] as const) {
    await session.page.mouse.click(points[k].x, points[k].y);
    await expect.poll(() => py(session.page, NB, 'finder.selected["weight_decay"]')).toBe(decay);
  }
});

test("major 1: a family's menu entry and its diamond pick their member where two share the LR", async () => {
  const shared = await py<number>(session.page, NB, 'family.results[2].candidates[-1].lr');
  expect(await py(session.page, NB, `${shared} in [c.lr for c in family.results[1].candidates]`)).toBe(true);
  const menu = session.page.locator('.lrwidget-menu select').nth(1);
  for (const [owner, decay] of [['weight_decay=0.01', 0.01], ['weight_decay=1e-3', 0.001], ['weight_decay=0.01', 0.01]] as const) {
    const label = await py<string>(session.page, NB, `menu_label(finder.chart, ${shared}, "${owner}")`);
    await menu.selectOption({ label });
    await expect.poll(() => py(session.page, NB, 'finder.selected')).toEqual({ learning_rate: shared, weight_decay: decay });
    await expect.poll(() => py(session.page, NB, 'finder.chart.controls.candidate_menu.label')).toBe(label);
  }
  await session.page.locator('.lrwidget-apply').click();
  await expect
    .poll(() => py(session.page, NB, '[float(model.optimizer.weight_decay), float(model.optimizer.learning_rate)]'))
    .toEqual([0.01, Math.fround(shared)]);
  expect(await menu.evaluate((s) => (s as HTMLSelectElement).selectedOptions[0].text)).toContain('weight_decay=0.01');

  // Back to member 1e-3 through the menu, then a click on the diamond drawn on top at that LR
  // (member 1e-2's, the last drawn) picks member 1e-2.
  const label = await py<string>(session.page, NB, `menu_label(finder.chart, ${shared}, "weight_decay=1e-3")`);
  await menu.selectOption({ label });
  await expect.poll(() => py(session.page, NB, 'finder.selected["weight_decay"]')).toBe(0.001);
  const xs = 'np.asarray(finder.chart.marks.candidates.x)';
  const k = await py<number>(session.page, NB, `int(np.flatnonzero(${xs} == ${shared})[-1])`);
  const diamond = (await fromEnd(1, 3)).locator('g.object_grp').nth(k);
  await session.page.mouse.click(...Object.values(await centre(diamond)) as [number, number]);
  await expect.poll(() => py(session.page, NB, 'finder.selected')).toEqual({ learning_rate: shared, weight_decay: 0.01 });
});

test("the article's minima: drawn as their own crosses, a click picks one, the status says what it is", async () => {
  await figure(0).scrollIntoViewIfNeeded();
  const minima = await py<number[]>(session.page, NB, 'sorted(m.lr for m in result.minima)');
  expect(minima.length).toBeGreaterThanOrEqual(2);
  // Their layer: the mark after the suggestion, before the trials' squares (lrwidget/figure.py).
  const crosses = (await fromEnd(0, 6)).locator('g.object_grp');
  await expect(crosses).toHaveCount(minima.length);
  await expect((await fromEnd(0, 6)).locator('text')).toContainText(['minimum']);
  for (const k of [minima.length - 1, 0]) {
    await session.page.mouse.click(...(Object.values(await centre(crosses.nth(k))) as [number, number]));
    await expect.poll(() => py(session.page, NB, 'chart.selected_lr')).toBe(minima[k]);
  }
  await expect(session.page.locator('.lrwidget-status').nth(0)).toContainText("an article's minimum");
  await expect(session.page.locator('.lrwidget-status').nth(0)).toContainText('the suggestion trains better');
  // Listed in the menu after the candidates; the box hides them.
  const menu = session.page.locator('.lrwidget-menu select').nth(0);
  await expect(menu.locator('option').last()).toContainText('minimum');
  await session.page.locator('.lrwidget-controls').nth(0).getByText("article's minima").click();
  await expect.poll(() => py(session.page, NB, '[chart.show_minima, len(chart.marks.minima.x)]')).toEqual([false, 0]);
  await expect(crosses).toHaveCount(0);
});

test('the draggable triangles show a resize cursor', async () => {
  await figure(0).scrollIntoViewIfNeeded();
  await session.page.locator('.lrwidget-controls').nth(0).getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'chart.selected_range is not None')).toBe(true);
  const triangles = [
    (await fromEnd(0, 1)).locator('path.dot'), // the selection's handle
    ...[0, 1].map(async (k) => (await fromEnd(0, 4)).locator('path.dot').nth(k)), // the range's
  ];
  for (const triangle of triangles) {
    expect(await (await triangle).evaluate((e) => getComputedStyle(e).cursor)).toBe('ew-resize');
  }
});
