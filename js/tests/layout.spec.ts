// lrwidget's layout, colours and the controls that used to misbehave, in JupyterLab: at 600 and
// 1280 px every control lies unclipped inside the output area; in the light and dark themes the
// marks contrast 3:1 with the plot's background; the slider is inert before a sweep and follows
// the keyboard after one; the toolbar's zoom and Reset reach the kernel; an early Stop keeps the
// planned total.
//
// The scenarios run in order on one page and one kernel (fixtures/layout.ipynb, 120 steps).
import { expect, test } from '@playwright/test';
import { candidateMarkers, centers, FIGURE, lossLines, marks, selectionRule, widgetShot, xTickLabels } from '../support/chart';
import { backgroundBehind, contrast, hex, over, paintOf } from '../support/contrast';
import { kernelRun, nextFrames, openNotebook, py, runAllCells, settled } from '../support/notebook';
import { sharedNotebook } from '../support/session';

const NB = 'layout.ipynb';
const WIDE = { width: 1280, height: 1000 };
const NARROW = { width: 600, height: 1000 };
const MIN_CONTRAST = 3; // WCAG 2.1, 1.4.11: graphical objects

const session = sharedNotebook(NB, {
  viewport: WIDE,
  // The theme is a user setting of the shared server: leave it light for the other specs.
  after: () => setTheme('JupyterLab Light'),
});

const slider = () => session.page.locator('.lrwidget .widget-hslider');
const sliderHandle = () => slider().locator('.noUi-handle');
const progressText = () => session.page.locator('.lrwidget .widget-hprogress + .widget-label');

async function setTheme(theme: string) {
  await session.page.evaluate(async (theme) => {
    await (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme });
  }, theme);
  await expect(session.page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
}

/** Sets the window's size and waits until the chart has been laid out again for it. */
async function resize(size: { width: number; height: number }) {
  await session.page.setViewportSize(size);
  const figure = session.page.locator(FIGURE);
  await expect
    .poll(async () => {
      const [outer, svg] = await figure.evaluate((el) => [
        el.getBoundingClientRect().width,
        el.querySelector('svg.svg-figure')!.getBoundingClientRect().width,
      ]);
      return outer < size.width && Math.abs(outer - svg) < 2;
    })
    .toBe(true);
  await nextFrames(session.page); // bqplot redraws its axes on the next frame
}

/**
 * Every control of the widget, and everything inside it that is drawn: a box inside the output
 * area (itself inside the window), and no box that cuts its content off (scrollWidth beyond
 * clientWidth where overflow is not visible). Returns what is wrong, one line each.
 */
async function layoutProblems(): Promise<string[]> {
  return session.page.evaluate(() => {
    const problems: string[] = [];
    const root = document.querySelector('.lrwidget')!;
    const area = root.closest('.jp-OutputArea-output')!.getBoundingClientRect();
    const fmt = (r: DOMRect) => `[${Math.round(r.left)}..${Math.round(r.right)}] x [${Math.round(r.top)}..${Math.round(r.bottom)}]`;
    if (area.left < 0 || area.right > window.innerWidth) {
      problems.push(`the output area ${fmt(area)} sticks out of the ${window.innerWidth} px window`);
    }
    const outside = (r: DOMRect) =>
      r.left < area.left - 0.5 || r.right > area.right + 0.5 || r.top < area.top - 0.5 || r.bottom > area.bottom + 0.5;
    const controls: [string, string][] = [
      ['Run', '.lrwidget-run'],
      ['Stop', '.lrwidget-stop'],
      ['Apply', '.lrwidget-apply'],
      ['progress bar', '.widget-hprogress'],
      ['progress text', '.widget-hprogress + .widget-label'],
      ['candidate dropdown', '.widget-dropdown'],
      ['LR slider', '.widget-hslider'],
      ['checkbox', '.widget-checkbox'],
      ['status line', '.lrwidget-status'],
    ];
    for (const [name, selector] of controls) {
      const found = root.querySelectorAll(selector);
      if (found.length === 0) problems.push(`no ${name} (${selector})`);
      for (const control of Array.from(found)) {
        const what = `${name} "${(control as HTMLElement).innerText.trim().replace(/\s+/g, ' ').slice(0, 40)}"`;
        for (const el of [control, ...Array.from(control.querySelectorAll('*'))] as HTMLElement[]) {
          const r = el.getBoundingClientRect();
          const style = getComputedStyle(el);
          if ((r.width === 0 && r.height === 0) || style.visibility === 'hidden') continue; // not drawn
          const tag = `<${el.tagName.toLowerCase()} class="${el.getAttribute('class') ?? ''}">`;
          if (outside(r)) problems.push(`${what}: ${tag} at ${fmt(r)} is outside the output area ${fmt(area)}`);
          if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
            problems.push(`${what}: ${tag} cuts its content off (${el.scrollWidth} px shown in ${el.clientWidth} px)`);
          }
        }
      }
    }
    const chart = root.querySelector('.lrwidget-figure')!.getBoundingClientRect();
    if (outside(chart)) problems.push(`the chart at ${fmt(chart)} is outside the output area ${fmt(area)}`);
    return problems;
  });
}

/** Left and right page coordinates of the x axis' tick labels, left to right. */
async function xTickBoxes(): Promise<{ text: string; left: number; right: number }[]> {
  const boxes = await session.page.locator(`${FIGURE} g.tick`).evaluateAll((els) =>
    els
      .filter((e) => /^translate\([^,]+,\s*0\)$/.test(e.getAttribute('transform') ?? ''))
      .map((e) => {
        const r = e.querySelector('text')!.getBoundingClientRect();
        return { text: e.textContent ?? '', left: r.left, right: r.right };
      }),
  );
  return boxes.sort((a, b) => a.left - b.left);
}

/** Checks the layout at the current window size and saves a picture of the widget. */
async function checkLayout(shot: string, testInfo: any) {
  await widgetShot(session.page, shot, testInfo);
  expect(await layoutProblems(), 'controls outside the output area or cut off').toEqual([]);
  // The slider keeps a track to slide on, not just its knob.
  const track = (await slider().locator('.noUi-target').boundingBox())!;
  expect(track.width, 'width of the LR slider track (px)').toBeGreaterThan(100);
  // "snap to candidates" is shown whole: its text ends inside its label, inside the output area.
  const snap = session.page.locator('.lrwidget .widget-checkbox label', { hasText: 'snap to candidates' });
  await expect(snap).toBeVisible();
  const [text, label] = await snap.evaluate((l) => [
    l.querySelector('span')!.getBoundingClientRect().right,
    l.getBoundingClientRect().right,
  ]);
  expect(text, "right edge of 'snap to candidates' vs its label's").toBeLessThanOrEqual(label + 0.5);
  // The x axis' labels do not run into each other.
  const ticks = await xTickBoxes();
  expect(ticks.length, 'x tick labels').toBeGreaterThanOrEqual(3);
  const overlaps = ticks.slice(1).filter((t, i) => t.left < ticks[i].right + 2);
  expect(overlaps.map((t) => t.text), `x tick labels overlapping their left neighbour (${ticks.map((t) => t.text).join(' ')})`).toEqual([]);
}

/** The contrast of the candidates, both loss lines and the selection rule with the plot's background. */
async function markContrasts(): Promise<Record<string, { color: string; alpha: number; ratio: number }>> {
  const background = await backgroundBehind(session.page.locator(FIGURE));
  const { raw, smoothed } = lossLines(session.page);
  const paints = {
    'candidate diamond (fill)': await paintOf((await candidateMarkers(session.page)).locator('path'), 'fill'),
    'smoothed loss line': await paintOf(smoothed, 'stroke'),
    'raw loss line (with its opacity)': await paintOf(raw, 'stroke'),
    'selection rule': await paintOf(await selectionRule(session.page), 'stroke'),
  };
  const out: Record<string, { color: string; alpha: number; ratio: number }> = {};
  for (const [name, { color, alpha }] of Object.entries(paints)) {
    const seen = over(color, alpha, background);
    out[name] = { color: hex(color), alpha, ratio: Math.round(contrast(seen, background) * 100) / 100 };
  }
  console.log(`background ${hex(background)}: ${JSON.stringify(out)}`);
  return out;
}

const MIN_BAND_CONTRAST = 1.4; // a translucent shading, outlined by its dashed edges

/** Ticks "pick a range" (once) so that its band and handles can be measured and seen. */
async function pickRange() {
  if (await py(session.page, NB, 'finder.selected_range is None')) await session.page.getByText('pick a range').click();
  await expect.poll(() => py(session.page, NB, 'finder.selected_range is not None')).toBe(true);
}

/** The contrast of the picked range's handles (3:1) and its band (1.4:1) with the plot. */
async function rangeContrasts(): Promise<Record<string, number>> {
  const background = await backgroundBehind(session.page.locator(FIGURE));
  const all = marks(session.page);
  const n = await all.count();
  const paints = {
    'range handle (fill)': await paintOf(all.nth(n - 4).locator('path.dot'), 'fill'),
    'range band (with its opacity)': await paintOf(all.nth(n - 8).locator('path.area'), 'fill'),
  };
  const out: Record<string, number> = {};
  for (const [name, { color, alpha }] of Object.entries(paints)) {
    out[name] = Math.round(contrast(over(color, alpha, background), background) * 100) / 100;
  }
  console.log(`background ${hex(background)}: ${JSON.stringify(out)}`);
  return out;
}

async function expectContrast() {
  const seen = await markContrasts();
  for (const [name, { ratio }] of Object.entries(seen)) {
    expect(ratio, `${name}: contrast with the plot's background`).toBeGreaterThanOrEqual(MIN_CONTRAST);
  }
  await pickRange();
  const range = await rangeContrasts();
  expect(range['range handle (fill)'], "range handle: contrast with the plot's background").toBeGreaterThanOrEqual(MIN_CONTRAST);
  expect(range['range band (with its opacity)'], "range band: contrast with the plot's background").toBeGreaterThanOrEqual(
    MIN_BAND_CONTRAST,
  );
}

test('before any sweep the slider is disabled, and arrow keys on it leave selected_lr None', async () => {
  await openNotebook(session.page, NB);
  await runAllCells(session.page, NB);
  await session.page.locator(FIGURE).scrollIntoViewIfNeeded();
  await expect(slider().locator('.noUi-target')).toHaveAttribute('disabled', /.*/);
  // No number to read while nothing is selected.
  await expect(slider().locator('.widget-readout')).toBeHidden();
  const before = await sliderHandle().getAttribute('aria-valuenow');
  await sliderHandle().focus();
  for (let i = 0; i < 5; i++) await session.page.keyboard.press('ArrowRight');
  await settled(session.page, NB); // what a press would send has reached the kernel by now
  expect(await py(session.page, NB, 'finder.selected_lr')).toBeNull();
  expect(await sliderHandle().getAttribute('aria-valuenow'), 'the handle did not move').toBe(before);
});

test('at 1280 px after a sweep, every control lies whole inside the output area', async ({}, testInfo) => {
  await session.page.locator('.lrwidget-run').click();
  await expect.poll(() => py(session.page, NB, 'finder.result is not None and not finder.running'), { timeout: 120_000 }).toBe(true);
  expect(['completed', 'diverged']).toContain(await py(session.page, NB, 'finder.result.stop_reason'));
  await expect(slider().locator('.noUi-target')).not.toHaveAttribute('disabled', /.*/);
  await session.page.mouse.move(1, 1); // no toolbar or tooltip over the chart
  await checkLayout('wide-1280', testInfo);
});

test('at 600 px every control still lies whole inside the output area, wrapped not clipped', async ({}, testInfo) => {
  await resize(NARROW);
  try {
    await session.page.locator(FIGURE).scrollIntoViewIfNeeded();
    await checkLayout('narrow-600', testInfo);
  } finally {
    await resize(WIDE);
  }
});

test('at 600 px with the file browser open (a notebook under 300 px wide) the controls still hold', async ({}, testInfo) => {
  await resize(NARROW);
  const sidebar = (open: boolean) =>
    session.page.evaluate(async (open) => {
      const app = (window as any).jupyterapp;
      if (open) await app.commands.execute('filebrowser:activate');
      else app.shell.collapseLeft();
    }, open);
  try {
    await sidebar(true);
    await expect
      .poll(() => session.page.locator('.lrwidget').first().evaluate((el) => el.getBoundingClientRect().width))
      .toBeLessThan(300);
    await nextFrames(session.page); // bqplot redraws its axes on the next frame
    await session.page.locator(FIGURE).scrollIntoViewIfNeeded();
    await widgetShot(session.page, 'narrow-sidebar', testInfo);
    expect(await layoutProblems(), 'controls outside the output area or cut off').toEqual([]);
    const track = (await slider().locator('.noUi-target').boundingBox())!;
    expect(track.width, 'width of the LR slider track (px)').toBeGreaterThan(120);
    // The candidate menu shows its whole text: the selected option, measured in the select's
    // own font, fits between its left padding and its arrow.
    const menu = session.page.locator('.lrwidget .widget-dropdown select');
    const [text, room] = await menu.evaluate((el: HTMLSelectElement) => {
      const style = getComputedStyle(el);
      const context = document.createElement('canvas').getContext('2d')!;
      context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const label = el.options[el.selectedIndex]?.text ?? '';
      return [context.measureText(label).width, el.clientWidth - parseFloat(style.paddingLeft) - 20];
    });
    expect(text, 'width of the selected candidate\'s text vs the room in the menu (px)').toBeLessThanOrEqual(room);
  } finally {
    await sidebar(false);
    await resize(WIDE);
  }
});

test('in the light theme, candidates, both loss lines and the selection rule contrast 3:1 with the plot', async () => {
  await expect(session.page.locator('body')).toHaveAttribute('data-jp-theme-light', 'true');
  await expectContrast();
});

test('in the dark theme, candidates, both loss lines and the selection rule contrast 3:1 with the plot', async ({}, testInfo) => {
  await setTheme('JupyterLab Dark');
  try {
    await expect(session.page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    await nextFrames(session.page); // the theme's stylesheet applies
    await pickRange(); // the picture shows the range's band and handles on the dark theme
    await session.page.mouse.move(1, 1);
    await widgetShot(session.page, 'dark-theme', testInfo);
    await expectContrast();
  } finally {
    await setTheme('JupyterLab Light');
  }
});

test("zoom: a wheel notch zooms once, zoomed ticks differ, and the toolbar's Reset resets the kernel's scales too", async () => {
  const figure = session.page.locator(`${FIGURE} svg.svg-figure`);
  const scales = 'finder.chart.x_scale.min, finder.chart.x_scale.max, finder.chart.y_scale.min, finder.chart.y_scale.max';
  const swept = await py<[number, number]>(session.page, NB, '[float(finder.result.lrs[0]), float(finder.result.lrs[-1])]');
  const home = await py<number[]>(session.page, NB, `[${scales}]`);
  expect(home.slice(0, 2), 'the x scale spans the sweep').toEqual(swept);
  const ticksHome = await xTickLabels(session.page);
  const decades = async () => {
    const [lo, hi] = await py<[number, number]>(session.page, NB, '[finder.chart.x_scale.min, finder.chart.x_scale.max]');
    return Math.log10(hi / lo);
  };
  const full = Math.log10(swept[1] / swept[0]);

  const box = (await figure.boundingBox())!;
  const middle = { x: box.x + box.width * 0.55, y: box.y + box.height * 0.5 };
  await session.page.mouse.move(middle.x, middle.y); // hovering the chart shows bqplot's toolbar
  await session.page.locator(`${FIGURE} .toolbar_div button[title="PanZoom"]`).click();
  await expect.poll(() => py(session.page, NB, 'type(finder.figure.interaction).__name__')).toBe('PanZoom');
  await session.page.mouse.move(middle.x, middle.y);

  // One notch: bqplot scales the span by exp(0.001 * deltaY), once (not once per mark).
  await session.page.mouse.wheel(0, -200);
  await expect.poll(decades).toBeLessThan(full * 0.95);
  await settled(session.page, NB); // a second zoom from the same notch would have happened by now
  expect((await decades()) / full, 'share of the span left after one notch').toBeCloseTo(Math.exp(-0.2), 1);

  for (let i = 0; i < 10 && (await decades()) > 0.8; i++) {
    await session.page.mouse.wheel(0, -400);
    await settled(session.page, NB);
  }
  expect(await decades(), 'decades shown once zoomed in').toBeLessThan(0.8);
  const zoomed = await xTickLabels(session.page);
  console.log(`x ticks zoomed in: ${zoomed.join(' ')}`);
  expect(zoomed.length, 'x ticks when zoomed in').toBeGreaterThanOrEqual(2);
  expect(new Set(zoomed).size, `distinct x tick labels among ${zoomed.join(' ')}`).toBe(zoomed.length);

  await session.page.locator(`${FIGURE} .toolbar_div button[title="Reset"]`).click();
  // The browser shows the swept range again, and the kernel's scales say so too.
  await expect.poll(() => xTickLabels(session.page)).toEqual(ticksHome);
  await expect.poll(() => py<number[]>(session.page, NB, `[${scales}]`)).toEqual(home);
  expect(await py(session.page, NB, 'finder.figure.interaction')).toBeNull();
  // Clicks pick again once the PanZoom is gone.
  await session.page.mouse.move(1, 1);
  const lrs = await py<number[]>(session.page, NB, 'sorted(c.lr for c in finder.result.candidates)');
  const current = await py<number>(session.page, NB, 'finder.selected_lr');
  const i = lrs.findIndex((lr) => lr !== current);
  const markers = await candidateMarkers(session.page);
  await markers.nth((await centers(markers))[i].index).click();
  await expect.poll(() => py<number>(session.page, NB, 'finder.selected_lr')).toBe(lrs[i]);
});

test('Stop mid-sweep: the progress keeps the planned 1500 steps and says the sweep was stopped', async () => {
  await kernelRun(session.page, NB, 'finder.sweep_args["num_steps"] = 1500');
  await session.page.locator('.lrwidget-run').click();
  await expect.poll(() => py(session.page, NB, 'finder.running and len(finder.result) >= 50'), { timeout: 60_000 }).toBe(true);
  await expect(progressText()).toContainText('/ 1500');
  await session.page.locator('.lrwidget-stop').click();
  await expect(session.page.locator('.lrwidget-run')).toBeEnabled({ timeout: 10_000 });
  const [reason, n] = await py<[string, number]>(session.page, NB, '[finder.result.stop_reason, len(finder.result)]');
  expect(reason).toBe('stopped');
  expect(n).toBeGreaterThanOrEqual(50);
  expect(n).toBeLessThan(1500);
  await expect(progressText()).toHaveText(`${n} / 1500 · stopped`);
  // The bar shows the share done, not a full bar.
  const share = await session.page
    .locator('.lrwidget .widget-hprogress .progress-bar')
    .evaluate((bar) => bar.getBoundingClientRect().width / bar.parentElement!.getBoundingClientRect().width);
  expect(share).toBeCloseTo(n / 1500, 1);
});

test('after a sweep, each ArrowRight on the focused slider raises selected_lr in the kernel', async () => {
  // A full sweep again (the last one was stopped early), which pre-selects its suggestion.
  await kernelRun(session.page, NB, 'finder.sweep_args["num_steps"] = 120');
  await session.page.locator('.lrwidget-run').click();
  await expect
    .poll(() => py(session.page, NB, 'not finder.running and finder.result.stop_reason != "stopped"'), { timeout: 120_000 })
    .toBe(true);
  const before = await py<number>(session.page, NB, 'finder.selected_lr');
  expect(before).not.toBeNull();
  await settled(session.page, NB); // the cell's output, redrawn at the end of the sweep, settles
  await sliderHandle().focus();
  // As a user does: press, see the pick, press again, without clicking the slider anew.
  let lr = before;
  for (let press = 1; press <= 3; press++) {
    await session.page.keyboard.press('ArrowRight');
    await expect
      .poll(() => py<number>(session.page, NB, 'finder.selected_lr'), { message: `press ${press} reached the kernel`, timeout: 10_000 })
      .toBeGreaterThan(lr);
    lr = await py<number>(session.page, NB, 'finder.selected_lr');
  }
  // Three steps of 0.05 (1/20 decade, issue 22) on the slider's log10 scale (the start snaps
  // to the step grid: +-0.05).
  expect(Math.abs(Math.log10(lr / before) - 0.15)).toBeLessThanOrEqual(0.0501);
  // The slider shows what the kernel holds.
  await expect(slider().locator('.widget-readout')).toHaveText(await py<string>(session.page, NB, 'lrwidget.chart.format_lr(finder.selected_lr)'));
});
