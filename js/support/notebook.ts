// Helpers to open a notebook in JupyterLab or Notebook 7, run its cells and ask its kernel.
//
// Both front ends expose `window.jupyterapp` (started with expose_app_in_browser), so cells
// are run through the app's own commands, and values are read back by executing code in the
// notebook's kernel and parsing what it prints - an assertion on the kernel's state, not pixels.
import { expect, Page } from '@playwright/test';

export type Frontend = 'lab' | 'notebook';

function serverUrl(): { url: string; token: string } {
  const url = process.env.JUPYTER_URL;
  const token = process.env.JUPYTER_TOKEN;
  if (!url || !token) throw new Error('JUPYTER_URL/JUPYTER_TOKEN unset: run through playwright.config.ts');
  return { url, token };
}

/** Opens `name` (a copy of fixtures/<name> in the server's root) and waits for its kernel. */
export async function openNotebook(page: Page, name: string, frontend: Frontend = 'lab') {
  const { url, token } = serverUrl();
  const route = frontend === 'lab' ? `lab/tree/${name}` : `notebooks/${name}`;
  await page.goto(`${url}/${route}?token=${token}`);
  await page.waitForFunction(() => (window as any).jupyterapp !== undefined, null, { timeout: 120_000 });
  if (frontend === 'lab') {
    // More room for the chart, and the same layout on every run.
    // After the layout is restored, or the restorer opens the file browser again.
    await page.evaluate(async () => {
      const app = (window as any).jupyterapp;
      await app.restored;
      app.shell.collapseLeft();
    });
  }
  await page.waitForFunction(
    (name) => {
      const app = (window as any).jupyterapp;
      for (const w of app.shell.widgets('main')) {
        if (w.context?.path === name && w.sessionContext?.session?.kernel) {
          return w.sessionContext.session.kernel.connectionStatus === 'connected';
        }
      }
      return false;
    },
    name,
    { timeout: 120_000 },
  );
}

/** Runs every cell of the open notebook `name` and waits until all have run and the kernel is idle. */
export async function runAllCells(page: Page, name: string, timeout = 180_000) {
  await page.evaluate(async (name) => {
    const app = (window as any).jupyterapp;
    for (const w of app.shell.widgets('main')) {
      if (w.context?.path === name) app.shell.activateById(w.id);
    }
    await app.commands.execute('notebook:run-all-cells');
  }, name);
  await page.waitForFunction(
    (name) => {
      const app = (window as any).jupyterapp;
      for (const w of app.shell.widgets('main')) {
        if (w.context?.path !== name) continue;
        const cells = Array.from(w.content.model.cells as Iterable<any>).filter((c) => c.type === 'code');
        const ran = cells.every((c) => c.executionCount !== null);
        return ran && w.sessionContext.session.kernel.status === 'idle';
      }
      return false;
    },
    name,
    { timeout, polling: 250 },
  );
  // A cell that raised is a broken fixture, not a browser failure: say so plainly.
  const errors = await page.evaluate((name) => {
    const app = (window as any).jupyterapp;
    const found: string[] = [];
    for (const w of app.shell.widgets('main')) {
      if (w.context?.path !== name) continue;
      for (const c of w.content.model.cells as Iterable<any>) {
        if (c.type !== 'code') continue;
        for (const o of c.outputs.toJSON()) {
          if (o.output_type === 'error') found.push(`${o.ename}: ${o.evalue}`);
        }
      }
    }
    return found;
  }, name);
  expect(errors, `a cell of ${name} raised`).toEqual([]);
}

/**
 * Executes `code` in the kernel of notebook `name`, without touching the notebook, and returns
 * what it printed. A Python exception fails the test with its traceback.
 */
export async function kernelRun(page: Page, name: string, code: string): Promise<string> {
  const res = await page.evaluate(
    async ({ name, code }) => {
      const app = (window as any).jupyterapp;
      let kernel: any;
      for (const w of app.shell.widgets('main')) {
        if (w.context?.path === name) kernel = w.sessionContext.session.kernel;
      }
      if (!kernel) return { out: '', error: `no kernel for ${name}` };
      const future = kernel.requestExecute({ code, store_history: false, silent: false });
      let out = '';
      let error = '';
      future.onIOPub = (msg: any) => {
        const t = msg.header.msg_type;
        if (t === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
        if (t === 'error') error = `${msg.content.ename}: ${msg.content.evalue}\n${msg.content.traceback.join('\n')}`;
      };
      await future.done;
      return { out, error };
    },
    { name, code },
  );
  if (res.error) throw new Error(`kernel code failed:\n${code}\n---\n${res.error.replace(/\x1b\[[0-9;]*m/g, '')}`);
  return res.out;
}

/**
 * Sends `code` to the kernel of notebook `name` as a cell does, without waiting for it (the
 * kernel holds back other requests until it is done); `cellDone(page)` tells when it is.
 */
export async function startCell(page: Page, name: string, code: string) {
  await page.evaluate(
    ({ name, code }) => {
      const app = (window as any).jupyterapp;
      for (const w of app.shell.widgets('main')) {
        if (w.context?.path !== name) continue;
        const future = w.sessionContext.session.kernel.requestExecute({ code });
        (window as any).cellDone = false;
        future.done.then(() => ((window as any).cellDone = true));
      }
    },
    { name, code },
  );
}

/** Whether the code of the last `startCell` has finished. */
export const cellDone = (page: Page) => page.evaluate(() => (window as any).cellDone === true);

/** Jupyter's interrupt button, for the kernel of notebook `name`. */
export async function interruptKernel(page: Page, name: string) {
  await page.evaluate(async (name) => {
    const app = (window as any).jupyterapp;
    for (const w of app.shell.widgets('main')) {
      if (w.context?.path === name) await w.sessionContext.session.kernel.interrupt();
    }
  }, name);
}

/** Evaluates a Python expression in the kernel and returns its value through JSON. */
export async function py<T = any>(page: Page, name: string, expr: string): Promise<T> {
  const out = await kernelRun(page, name, `import json as _j\nprint(_j.dumps(${expr}))`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Shuts down the kernel of notebook `name` (frees a core for the next scenarios). */
export async function shutdownKernel(page: Page, name: string) {
  await page.evaluate(async (name) => {
    const app = (window as any).jupyterapp;
    for (const w of app.shell.widgets('main')) {
      if (w.context?.path === name) await w.sessionContext.shutdown();
    }
  }, name);
}

/** Resolves after the browser has painted `n` more frames (bqplot redraws on its next ones). */
export async function nextFrames(page: Page, n = 2) {
  await page.evaluate(
    (n) =>
      new Promise<void>((resolve) => {
        const step = (left: number) => (left === 0 ? resolve() : requestAnimationFrame(() => step(left - 1)));
        step(n);
      }),
    n,
  );
}

/**
 * Resolves once the kernel of notebook `name` has handled every message the page sent it
 * before (a click's, a drag's, a key's: the kernel takes them in order, and an execute
 * request is done only after the busy/idle cycles before it), the page has received what the
 * kernel sent back meanwhile, and the browser has drawn it. What a test then sees is settled.
 */
export async function settled(page: Page, name: string) {
  await kernelRun(page, name, 'pass');
  await nextFrames(page);
}
