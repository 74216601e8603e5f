// Starts one JupyterLab server for the whole run and returns the function that stops it.
//
// The server listens on 127.0.0.1 only, on a free port, with a random token, in a throw-away
// root directory holding copies of fixtures/*.ipynb. Its kernels run the `python` on PATH
// (the default kernelspec), which must have lrwidget installed. Notebook 7, when installed,
// is served by the same server under /tree and /notebooks/.
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const HOST = '127.0.0.1';
// The `python` on PATH runs the server, and the default kernelspec runs kernels with it too.
const PYTHON = 'python';
const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const SERVER_LOG = path.join(__dirname, '..', 'test-results', 'jupyter-server.log');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

// Fail early, with a readable message, if the kernel's python lacks what the notebooks import
// (find_spec only: importing lrwidget would start TensorFlow, which takes seconds).
function checkPython(env: NodeJS.ProcessEnv) {
  const modules = ['lrwidget', 'bqplot', 'ipywidgets', 'ipykernel', 'jupyterlab', 'notebook', 'sklearn'];
  const code =
    'import importlib.util as u, sys\n' +
    `missing = [m for m in ${JSON.stringify(modules)} if u.find_spec(m) is None]\n` +
    'sys.exit("missing: " + " ".join(missing) if missing else 0)';
  const probe = spawnSync(PYTHON, ['-c', code], { env, encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`'${PYTHON}' (the kernels' python) cannot run the tests: ${probe.stderr || probe.error}`);
  }
}

// User settings for this server only: no "get Jupyter news?" toast over the chart, and every
// cell kept in the DOM (no windowing), so a chart below the fold can be scrolled to and read.
function writeSettings(dir: string) {
  const settings: Record<string, object> = {
    '@jupyterlab/apputils-extension/notification.jupyterlab-settings': { fetchNews: 'false' },
    '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': { windowingMode: 'none' },
  };
  for (const [file, value] of Object.entries(settings)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), JSON.stringify(value));
  }
}

async function waitForServer(url: string, token: string, proc: ChildProcess, log: string) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-3000) : '';
  throw new Error(`JupyterLab did not come up at ${url} (exit code ${proc.exitCode}):\n${tail}`);
}

// Kill the server's process group; SIGTERM first so it can shut its kernels down cleanly.
async function stopServer(proc: ChildProcess) {
  if (proc.exitCode !== null || proc.pid === undefined) return;
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise((r) => setTimeout(r, 15_000, 'timeout'));
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export default async function globalSetup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lrwidget-browser-'));
  const notebooks = path.join(root, 'notebooks');
  fs.mkdirSync(notebooks);
  for (const name of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.ipynb'))) {
    fs.copyFileSync(path.join(FIXTURES, name), path.join(notebooks, name));
  }

  const port = await freePort();
  const token = crypto.randomBytes(24).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CPP_MIN_LOG_LEVEL: '3',
    PYTHONUNBUFFERED: '1',
    // Keep this server's runtime files, settings and workspaces apart from anyone else's.
    JUPYTER_RUNTIME_DIR: path.join(root, 'runtime'),
    JUPYTERLAB_SETTINGS_DIR: path.join(root, 'settings'),
    JUPYTERLAB_WORKSPACES_DIR: path.join(root, 'workspaces'),
    IPYTHONDIR: path.join(root, 'ipython'),
  };
  checkPython(env);
  writeSettings(env.JUPYTERLAB_SETTINGS_DIR!);

  const logFile = path.join(root, 'server.log');
  const out = fs.openSync(logFile, 'w');
  const args = [
    '-m', 'jupyterlab',
    '--no-browser',
    `--ip=${HOST}`,
    `--port=${port}`,
    '--port-retries=0',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${notebooks}`,
    '--ServerApp.terminals_enabled=False',
    // Kernels listen on loopback too (the default, made explicit).
    '--KernelManager.ip=127.0.0.1',
    '--LabApp.expose_app_in_browser=True',
    // Notebook 7 has its own switch for window.jupyterapp; unknown options are only warned about.
    '--JupyterNotebookApp.expose_app_in_browser=True',
    '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
  ];
  // CI containers often run as root, which Jupyter refuses without this flag.
  if (process.getuid?.() === 0) args.push('--allow-root');
  // detached: its own process group, so teardown can stop it and everything it spawned.
  const proc = spawn(PYTHON, args, { env, cwd: notebooks, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);

  // Last resort if the runner dies without running the teardown.
  const onExit = () => {
    try {
      if (proc.pid && proc.exitCode === null) process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);

  const url = `http://${HOST}:${port}`;
  try {
    await waitForServer(url, token, proc, logFile);
  } catch (e) {
    await stopServer(proc);
    process.off('exit', onExit);
    fs.rmSync(root, { recursive: true, force: true });
    throw e;
  }
  process.env.JUPYTER_URL = url;
  process.env.JUPYTER_TOKEN = token;
  console.log(`JupyterLab up at ${url} (root ${notebooks})`);

  return async () => {
    await stopServer(proc);
    process.off('exit', onExit);
    // Keep the server's log next to the traces, then drop the temporary root.
    fs.mkdirSync(path.dirname(SERVER_LOG), { recursive: true });
    fs.copyFileSync(logFile, SERVER_LOG);
    fs.rmSync(root, { recursive: true, force: true });
  };
}
