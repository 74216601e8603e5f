// One page on one notebook, shared by the tests of a spec file that run in order on it.
import { BrowserContext, Page, test } from '@playwright/test';
import { ConsoleWatch, watchConsole } from './console';
import { openNotebook, runAllCells, shutdownKernel } from './notebook';

export interface SharedNotebookOptions {
  /** The page's size; 1280 x 900 (the config's) unless given. */
  viewport?: { width: number; height: number };
  /** Open the notebook and run all its cells before the first test; without it, a test does. */
  run?: boolean;
  /** Runs at the end of beforeAll, after the cells when `run` is set. */
  before?: (page: Page) => Promise<void>;
  /** Runs at the start of afterAll, before the kernel is shut down. */
  after?: (page: Page) => Promise<void>;
  /** Shut down the notebook's kernel after the last test (default true). */
  shutdown?: boolean;
}

export interface SharedNotebook {
  /** The page: valid from beforeAll on. */
  readonly page: Page;
  /** Its console watch, checked after every test. */
  readonly console: ConsoleWatch;
}

/**
 * Registers, for the spec file that calls it (once, at its top level), a serial run of its tests
 * on one page in a browser context of its own: a failed test skips the rest. Before the first
 * test: the context, its page and a console watch (and, with `run`, `name` opened and run); after
 * each test: the console checked; after the last: `after`, `name`'s kernel shut down unless
 * `shutdown` is false, and the context closed. Playwright traces a context made from its
 * `browser` fixture too, so a failed test still leaves a trace (playwright.config.ts).
 */
export function sharedNotebook(name: string, options: SharedNotebookOptions = {}): SharedNotebook {
  const { viewport = { width: 1280, height: 900 }, run = false, before, after, shutdown = true } = options;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let watch: ConsoleWatch | undefined;

  test.describe.configure({ mode: 'serial' });

  test.beforeAll(async ({ browser }) => {
    context = await browser.newContext({ viewport });
    page = await context.newPage();
    watch = watchConsole(page);
    if (run) {
      await openNotebook(page, name);
      await runAllCells(page, name);
    }
    await before?.(page);
  });

  test.afterEach(() => session.console.check());

  test.afterAll(async () => {
    if (!context) return; // beforeAll failed before there was anything to tear down
    if (page) {
      await after?.(page);
      if (shutdown) await shutdownKernel(page, name);
    }
    await context.close();
  });

  const session: SharedNotebook = {
    get page() {
      if (!page) throw new Error(`no page on ${name} yet: use it in a test or hook`);
      return page;
    },
    get console() {
      if (!watch) throw new Error(`no console watch on ${name} yet: use it in a test or hook`);
      return watch;
    },
  };
  return session;
}
