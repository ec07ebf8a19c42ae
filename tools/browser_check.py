#!/usr/bin/env python
"""Real-browser check of the widgets notebook: run it in JupyterLab inside headless Chromium and screenshot the widgets.

Usage, from the repository root (not part of the test suite: it takes about a minute and needs a browser):

    pip install jupyterlab websocket-client      # if missing
    apt-get install chromium                     # Debian's Chromium; nothing else is downloaded
    python tools/browser_check.py                # writes docs/browser_check_*.png

Options: `--nb nbs/13_widgets.ipynb` (notebook to run), `--out docs` (screenshot folder), `--timeout 600` (seconds for
the whole notebook), `--chromium /usr/bin/chromium`, `--keep` (leave the temporary folder for inspection).

What it does:
1. copies the notebook into a temporary folder laid out like the repo (`nbs/`, with `data/` linked), so JupyterLab's
   autosave can never write outputs into the repo; the kernel imports `mss_pose` from this repo (`PYTHONPATH`);
2. starts `jupyter lab` on 127.0.0.1 without a token (settings and workspaces in the temporary folder) and
   `chromium --headless` with the DevTools protocol, and opens the notebook in JupyterLab;
3. runs every cell with JupyterLab's own "Run All Cells" command (`notebook:run-all-cells`, reachable because the
   server runs with `--expose-app-in-browser`), waits until the kernel is idle with every cell executed, and fails
   if any cell raised (printing the traceback);
4. checks that widget views and figures rendered in the explorer cells, clicks the HeatmapExplorer's 'pyramid' button
   in the page (a callback driven from the browser) and checks that the view was redrawn;
5. saves screenshots: `browser_check_explorer.png` (HeatmapExplorer after Run All), `browser_check_explorer_pyramid.png`
   (after the click) and `browser_check_loss.png` (LossExplorer).
Exit status 0 when everything rendered, 1 with a message otherwise.
"""
from __future__ import annotations
import argparse, base64, json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXPLORER_CELL, LOSS_CELL = "ex.upload.value = ()", "le.dy.value = 1."   # source snippets that find the cells to shoot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def wait_http(url: str, timeout: float, what: str):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as r: return json.loads(r.read() or b'null')
        except (OSError, ValueError): time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen | None):
    "Stop a process this script started (and the children in its own process group)."
    if proc is None or proc.poll() is not None: return
    try: os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError: return
    try: proc.wait(10)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)


class CDP:
    "A minimal Chrome DevTools Protocol client on one page."
    def __init__(self, ws_url: str):
        import websocket                                            # websocket-client
        self.ws, self.n = websocket.create_connection(ws_url, timeout=120, suppress_origin=True), 0

    def __call__(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == self.n:
                if 'error' in msg: raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get('result', {})

    def js(self, expr: str):
        "Evaluate a JS expression (promises awaited) and return its value."
        r = self('Runtime.evaluate', expression=expr, awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"JS error: {r['exceptionDetails'].get('exception', {}).get('description', r['exceptionDetails'])}")
        return r['result'].get('value')

    def poll(self, expr: str, timeout: float, what: str, every: float = 1.):
        t0 = time.time()
        while time.time() - t0 < timeout:
            v = self.js(expr)
            if v: return v
            time.sleep(every)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")

    def shot(self, path: Path, clip: dict | None = None):
        params = dict(format='png', captureBeyondViewport=True)
        if clip: params['clip'] = {**clip, 'scale': 1}
        path.write_bytes(base64.b64decode(self('Page.captureScreenshot', **params)['data']))
        print(f"  screenshot: {path}")


NB = "[...window.jupyterapp.shell.widgets('main')].find(w => w.sessionContext && w.content)"   # the notebook panel
STATE = f"""(() => {{
  const nb = {NB};
  if (!nb || !nb.content || !nb.sessionContext) return null;
  const cells = nb.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {{
    if (o.output_type === 'error') errors.push({{cell: i, ename: o.ename, evalue: o.evalue, tb: (o.traceback || []).join('\\n')}});
  }}));
  return {{status: nb.sessionContext.kernelDisplayStatus, n: cells.length,
           done: cells.filter(c => c.model.executionCount !== null && !c.promptNode.textContent.includes('*')).length, errors}};
}})()"""


def cell_rect(cdp: CDP, snippet: str) -> dict:
    "Scroll the code cell whose source contains `snippet` into view; its clip rectangle and what it rendered."
    return cdp.js(f"""(async () => {{
      const nb = {NB};
      const cell = nb.content.widgets.find(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes({json.dumps(snippet)}));
      if (!cell) return null;
      await nb.content.scrollToCell(cell, 'start');
      await new Promise(r => setTimeout(r, 1500));
      const r = cell.node.getBoundingClientRect();
      return {{x: r.left, y: r.top + window.scrollY, width: r.width, height: r.height,
               widgets: cell.node.querySelectorAll('.jupyter-widgets').length,
               images: [...cell.node.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src.length + ':' + i.naturalWidth),
               buttons: [...cell.node.querySelectorAll('button')].map(b => b.textContent.trim())}};
    }})()""")


def check_cell(cdp: CDP, snippet: str, min_images: int) -> dict:
    t0 = time.time()
    while True:
        info = cell_rect(cdp, snippet)
        if info is None: raise RuntimeError(f"no code cell containing {snippet!r} in the notebook")
        if info['widgets'] > 0 and len(info['images']) >= min_images: return info
        if time.time() - t0 > 60:
            raise RuntimeError(f"cell {snippet!r} rendered {info['widgets']} widget elements and {len(info['images'])} images, "
                               f"expected widgets and >= {min_images} figures")
        time.sleep(2)


def run(args) -> int:
    nb_src, out = (REPO/args.nb).resolve(), (REPO/args.out).resolve()
    if not nb_src.is_file(): raise FileNotFoundError(f"notebook not found: {nb_src}")
    chromium = shutil.which(args.chromium) or args.chromium
    if not Path(chromium).exists(): raise FileNotFoundError(f"chromium not found ({args.chromium}); install Debian's: apt-get install chromium")
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix='mss_browser_check_'))
    lab = chrome = None
    try:
        (tmp/'nbs').mkdir()
        shutil.copy(nb_src, tmp/'nbs'/nb_src.name)
        (tmp/'mss_pose').mkdir(); (tmp/'mss_pose'/'sample').symlink_to(REPO/'mss_pose'/'sample')
        settings = tmp/'settings'
        (settings/'@jupyterlab'/'notebook-extension').mkdir(parents=True)
        (settings/'@jupyterlab'/'notebook-extension'/'tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))
        (settings/'@jupyterlab'/'apputils-extension').mkdir(parents=True)
        (settings/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false'}))
        lab_port, cdp_port = free_port(), free_port()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep))
        lab_cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={lab_port}',
                   "--ServerApp.token=", "--ServerApp.password=", f'--ServerApp.root_dir={tmp}', '--expose-app-in-browser',
                   f'--LabApp.user_settings_dir={settings}', f'--LabApp.workspaces_dir={tmp/"workspaces"}']
        print('$', ' '.join(lab_cmd))
        lab = subprocess.Popen(lab_cmd, cwd=tmp, env=env, stdout=open(tmp/'lab.log', 'w'), stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f'http://127.0.0.1:{lab_port}/api/status', 90, 'jupyter lab')
        chrome_cmd = [chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars',
                      f'--remote-debugging-port={cdp_port}', '--remote-allow-origins=*', f'--user-data-dir={tmp/"chrome"}',
                      f'--window-size={args.width},{args.height}', 'about:blank']
        print('$', ' '.join(chrome_cmd))
        chrome = subprocess.Popen(chrome_cmd, stdout=open(tmp/'chrome.log', 'w'), stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f'http://127.0.0.1:{cdp_port}/json/version', 60, 'chromium DevTools')
        page = next(t for t in wait_http(f'http://127.0.0.1:{cdp_port}/json/list', 30, 'chromium targets') if t['type'] == 'page')
        cdp = CDP(page['webSocketDebuggerUrl'])
        cdp('Page.enable'); cdp('Runtime.enable')
        cdp('Emulation.setFocusEmulationEnabled', enabled=True)      # headless pages have no focus: JupyterLab needs it
        cdp('Emulation.setDeviceMetricsOverride', width=args.width, height=args.height, deviceScaleFactor=1, mobile=False)
        url = f'http://127.0.0.1:{lab_port}/lab/tree/nbs/{nb_src.name}?reset'
        print(f'open {url}')
        t0 = time.time()
        cdp('Page.navigate', url=url)
        cdp.poll(f"!!(window.jupyterapp && {NB} && {NB}.sessionContext && {NB}.sessionContext.session && "
                 f"{NB}.sessionContext.session.kernel && {NB}.sessionContext.kernelDisplayStatus === 'idle')",
                 120, 'JupyterLab to open the notebook with an idle kernel')
        print(f'  notebook open, kernel idle ({time.time() - t0:.0f} s); running all cells')
        cdp.js(f"(() => {{ window.jupyterapp.shell.activateById({NB}.id); return true; }})()")
        t0, st = time.time(), None
        cdp.js("window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => true)")   # resolves when all ran
        while time.time() - t0 < args.timeout:
            time.sleep(2)
            st = cdp.js(STATE)
            if st['errors'] and st['status'] == 'idle':
                e = st['errors'][0]
                print(f"FAILED: code cell {e['cell']} raised {e['ename']}: {e['evalue']}\n{e['tb']}")
                return 1
            if st['status'] == 'idle' and st['done'] == st['n']: break
        else: raise RuntimeError(f"notebook did not finish within {args.timeout} s: {st}")
        print(f"  ran {st['n']} code cells without errors in {time.time() - t0:.0f} s")
        info = check_cell(cdp, EXPLORER_CELL, 2)
        print(f"  HeatmapExplorer: {info['widgets']} widget elements, {len(info['images'])} figures, buttons {info['buttons']}")
        cdp.shot(out/'browser_check_explorer.png', {k: info[k] for k in ('x', 'y', 'width', 'height')})
        before = info['images']
        clicked = cdp.js(f"""(() => {{
          const cell = {NB}.content.widgets.find(c => c.model.sharedModel.getSource().includes({json.dumps(EXPLORER_CELL)}));
          const b = [...cell.node.querySelectorAll('button')].find(b => b.textContent.trim() === 'pyramid');
          if (!b) return false; b.click(); return true; }})()""")
        if not clicked: raise RuntimeError("no 'pyramid' button in the HeatmapExplorer cell")
        t1 = time.time()
        while (info := cell_rect(cdp, EXPLORER_CELL))['images'] == before:
            if time.time() - t1 > 60: raise RuntimeError("clicking 'pyramid' in the browser did not redraw the explorer")
            time.sleep(1)
        print(f"  clicked 'pyramid' in the page: the view was redrawn ({len(info['images'])} figures)")
        cdp.shot(out/'browser_check_explorer_pyramid.png', {k: info[k] for k in ('x', 'y', 'width', 'height')})
        info = check_cell(cdp, LOSS_CELL, 1)
        print(f"  LossExplorer: {info['widgets']} widget elements, {len(info['images'])} figures")
        cdp.shot(out/'browser_check_loss.png', {k: info[k] for k in ('x', 'y', 'width', 'height')})
        print('OK: the notebook ran in JupyterLab in headless Chromium and its widgets and heatmaps rendered')
        return 0
    finally:
        stop(chrome); stop(lab)
        if args.keep: print(f'kept {tmp}')
        else: shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--nb', default='nbs/13_widgets.ipynb', help='notebook to run, relative to the repo root')
    p.add_argument('--out', default='docs', help='folder for the screenshots, relative to the repo root')
    p.add_argument('--timeout', type=float, default=600, help='seconds allowed for running all cells')
    p.add_argument('--chromium', default='chromium', help='Chromium executable')
    p.add_argument('--width', type=int, default=1400); p.add_argument('--height', type=int, default=1800)
    p.add_argument('--keep', action='store_true', help='keep the temporary folder (logs, copy of the notebook)')
    args = p.parse_args()
    try: sys.exit(run(args))
    except (RuntimeError, FileNotFoundError, StopIteration) as e:
        print(f'FAILED: {e}'); sys.exit(1)


if __name__ == '__main__':
    main()
