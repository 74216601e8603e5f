// Tells, at the end of a failed run, where Playwright left its traces and screenshots.
import type { FullResult, Reporter } from '@playwright/test/reporter';
import * as path from 'path';

class WhereReporter implements Reporter {
  onEnd(result: FullResult) {
    if (result.status === 'passed') return;
    const dir = path.join(__dirname, '..', 'test-results');
    console.log(
      `\nBrowser tests ${result.status}. Traces, failure screenshots and jupyter-server.log: ${dir}\n` +
        `Open a trace with: cd ${path.dirname(dir)} && npx playwright show-trace <test-results/.../trace.zip>`,
    );
  }
}

export default WhereReporter;
