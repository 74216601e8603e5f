// Every console error and uncaught page error fails the scenario it happened in: a chart that
// draws but logs "Error: <g> attribute transform ..." on every update is broken, not fine.
import { expect, Page } from '@playwright/test';

export interface ConsoleWatch {
  errors: string[];
  /** Fails the test if the page logged an error since the last check, and starts afresh. */
  check(): void;
  /** Forgets what was logged so far (the front end's own start-up, before any lrwidget cell). */
  reset(): void;
}

// The one exception: a web font of the front end's own. The Jupyter server here now and then
// answers 403 "not in root static directory" for a .woff2 that JupyterLab or Notebook 7 asks
// for (seen in both, with or without lrwidget on the page); text then falls back to another
// font. Every other failed request counts.
const FONT = /\.(woff2?|ttf|otf)(\?.*)?$/;

export function watchConsole(page: Page): ConsoleWatch {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location().url;
    if (msg.text().startsWith('Failed to load resource') && FONT.test(where)) return;
    errors.push(where ? `${msg.text()} (${where})` : msg.text());
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  // The console names no address for a failed resource: the response does.
  page.on('response', (res) => {
    if (res.status() < 400 || FONT.test(res.url())) return;
    errors.push(`HTTP ${res.status()} ${res.request().method()} ${res.url()}`);
  });
  return {
    errors,
    check() {
      const seen = errors.splice(0);
      expect(seen, 'errors in the browser console').toEqual([]);
    },
    reset() {
      errors.splice(0);
    },
  };
}
