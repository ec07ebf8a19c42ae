#!/usr/bin/env python
"""Real-browser check of the notebooks: Run All of each one in JupyterLab inside headless Chromium, with screenshots.

Usage, from the repository root (not part of the test suite: it needs a browser and takes a few minutes):

    pip install -e ".[dev,browser]"              # JupyterLab and websocket-client
    apt-get install chromium                     # Debian's Chromium; nothing else is downloaded
    python tools/browser_check.py                # every notebook in nbs/
    python tools/browser_check.py nbs/13a_explorers.ipynb --no-shared   # one notebook, as on a clone without ../shared

Options: `--out docs/notebooks` (screenshot folder), `--timeout 900` (seconds for one notebook's Run All), `--no-shared`
(hide `../shared/data` from the notebooks), `--scale 0.5` (screenshot scale), `--chromium /usr/bin/chromium`, `--keep`
(leave the temporary folder: JupyterLab's log, the executed copies).

What it does:
1. lays out a temporary folder like a checkout (`repo/nbs/` with copies of the notebooks, the rest of the repository
   linked, `shared/` linked to `../shared` unless `--no-shared`), so JupyterLab's autosave can never write into the
   repository's notebooks;
   the kernel imports `mss_pose` from this repository (`PYTHONPATH`);
2. starts `jupyter lab` on 127.0.0.1 without a token (settings, workspaces and notebook signatures in the temporary
   folder, every cell rendered), with the README's set-up: nbdev's save hook as `nbdev-install-hooks` installs it
   (`clean_jupyter`) and the `mss_pose.save_hook` server extension; and `chromium --headless` with the DevTools protocol;
3. per notebook: opens it, runs JupyterLab's own "Run All Cells" command and waits until every cell has run; it fails on
   any error output, on any stderr output (a warning a reader would see, libjpeg's included) and on a figure shown as
   text (`<Figure size ...>`, a matplotlib `Figure` without the inline backend); it saves a screenshot
   of the whole notebook, `OUT/<notebook>.png`;
4. in `13a_explorers`, drives the showcase `HeatmapExplorer` from the page as a user would (joint drop-down, 'pyramid'
   view with the stack slider moved by the keyboard, flip-test checkbox), checks each change redrew the figures, and
   saves `explorer.png`, `explorer_joint.png`, `explorer_stack.png`, `explorer_flip.png`; and `loss_explorer.png` after
   dragging the `LossExplorer`'s dx slider;
5. saves the notebook as a session does (an autosave, then Ctrl+S), shuts its kernel down, closes it and opens it again
   (a new kernel, no widget state): it fails unless the saved file differs from the committed one only in its outputs,
   and every saved picture (figures, explorer pictures) shows with no "Error displaying widget"; screenshot
   `OUT/reopened_<notebook>.png`;
6. checks that no file of the repository changed.
Exit status 0 when every notebook ran clean, 1 otherwise; a summary line per notebook gives its Run All time.
"""
from __future__ import annotations
import argparse, base64, io, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# the showcase cells of 13a_explorers, found by what they render (JS predicates of a code cell `c`): the HeatmapExplorer has a
# 'pyramid' view button, the LossExplorer a 'dx' slider; the explorers of the test cells are never displayed
EXPLORER_CELL = "[...c.node.querySelectorAll('.jp-OutputArea-output button')].some(b => b.textContent.trim() === 'pyramid')"
LOSS_CELL = "[...c.node.querySelectorAll('.jp-OutputArea-output .widget-slider')].some(d => d.textContent.trim().startsWith('dx'))"
ANSI = re.compile(r'\x1b\[[0-9;]*m')
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'


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


def git_state() -> dict:
    "`{path: (status, mtime)}` of the repository's changed and untracked files."
    r = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=REPO, capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines():
        f = line[3:].split(' -> ')[-1]
        out[f] = (line[:2], (REPO / f).stat().st_mtime_ns if (REPO / f).exists() else None)
    return out


class CDP:
    "A minimal Chrome DevTools Protocol client on one page."
    def __init__(self, ws_url: str):
        import websocket                                            # websocket-client
        self.ws, self.n = websocket.create_connection(ws_url, timeout=300, suppress_origin=True), 0

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
            if v := self.js(expr): return v
            time.sleep(every)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")

    def png(self, clip: dict) -> bytes:
        return base64.b64decode(self('Page.captureScreenshot', format='png', clip={**clip, 'scale': 1})['data'])

    def key(self, key: str, code: int):
        "A real key press (down and up) on the focused element."
        for t in ('rawKeyDown', 'keyUp'): self('Input.dispatchKeyEvent', type=t, key=key, code=key, windowsVirtualKeyCode=code)


NB = "[...window.jupyterapp.shell.widgets('main')].find(w => w.sessionContext && w.content)"   # the notebook panel
STATE = f"""(() => {{
  const nb = {NB};
  if (!nb || !nb.content || !nb.sessionContext) return null;
  const cells = nb.content.widgets.filter(c => c.model.type === 'code');
  const problems = [];
  cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {{
    if (o.output_type === 'error') problems.push(`code cell ${{i}} raised ${{o.ename}}: ${{o.evalue}}\\n${{(o.traceback || []).join('\\n')}}`);
    if (o.output_type === 'stream' && o.name === 'stderr') problems.push(`code cell ${{i}} wrote to stderr: ${{[].concat(o.text).join('').slice(0, 600)}}`);
    const d = o.data || {{}}, txt = [].concat(d['text/plain'] || []).join('');
    if (txt.startsWith('<Figure size') && !d['image/png']) problems.push(`code cell ${{i}} shows a figure as text: ${{txt}}`);
  }}));
  return {{status: nb.sessionContext.kernelDisplayStatus, n: cells.length,
           done: cells.filter(c => c.model.executionCount !== null && !c.promptNode.textContent.includes('*')).length, problems}};
}})()"""


def save_png(data: bytes, path: Path, scale: float = 1.):
    "Write a screenshot, scaled, in full colour (a 256-colour palette bands the heatmaps)."
    from PIL import Image
    im = Image.open(io.BytesIO(data)).convert('RGB')
    if scale != 1: im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    im.save(path, optimize=True)
    print(f"    screenshot: {path.relative_to(REPO) if path.is_relative_to(REPO) else path} ({im.width}x{im.height})")


SCROLLER = (f"(() => {{ const n = {NB}.content.node; return [n, ...n.querySelectorAll('*'), ...[n.parentElement]].find(e => e && "
            f"['auto', 'scroll'].includes(getComputedStyle(e).overflowY) && e.scrollHeight > e.clientHeight + 2) || n; }})()")


def notebook_shot(cdp: CDP, path: Path, scale: float):
    "Screenshot of the whole notebook, in viewport-high tiles stitched together (the notebook scrolls inside the page)."
    from PIL import Image
    geo = cdp.js(f"(() => {{ const o = window.__scroller = {SCROLLER}, r = o.getBoundingClientRect();"
                 f"return {{x: r.left, y: r.top, w: r.width, h: o.clientHeight, total: o.scrollHeight}}; }})()")
    canvas, y = Image.new('RGB', (round(geo['w']), round(geo['total'])), 'white'), 0
    while True:
        top = cdp.js(f"(async () => {{ const o = window.__scroller; o.scrollTop = {y};"
                     f"await new Promise(r => setTimeout(r, 400)); return o.scrollTop; }})()")
        tile = Image.open(io.BytesIO(cdp.png(dict(x=geo['x'], y=geo['y'], width=geo['w'], height=geo['h']))))
        canvas.paste(tile, (0, round(top)))
        if top + geo['h'] >= geo['total'] or top < y: break
        y = top + geo['h']
    from PIL import ImageChops
    box = ImageChops.difference(canvas, Image.new('RGB', canvas.size, 'white')).getbbox()    # JupyterLab's blank space below
    if box: canvas = canvas.crop((0, 0, canvas.width, min(canvas.height, box[3] + 20)))
    buf = io.BytesIO(); canvas.save(buf, format='png')
    save_png(buf.getvalue(), path, scale)


def cell_info(cdp: CDP, pred: str) -> dict | None:
    "Scroll the first code cell `c` for which the JS predicate `pred` holds into view; its rectangle, widgets and figures."
    return cdp.js(f"""(async () => {{
      const nb = {NB};
      const cell = nb.content.widgets.find(c => c.model.type === 'code' && ({pred}));
      if (!cell) return null;
      await nb.content.scrollToCell(cell, 'start');
      await new Promise(r => setTimeout(r, 1000));
      const out = cell.node.querySelector('.jp-Cell-outputWrapper') || cell.node, r = out.getBoundingClientRect();
      return {{x: r.left, y: r.top, width: r.width, height: Math.min(r.height, window.innerHeight - r.top),
               widgets: cell.node.querySelectorAll('.jupyter-widgets').length,
               images: [...cell.node.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src.length + ':' + i.src.slice(-40))}};
    }})()""")


def in_cell(pred: str, body: str) -> str:
    "A JS expression running `body` with `cell` bound to the first code cell `c` for which `pred` holds."
    return f"(async () => {{ const cell = {NB}.content.widgets.find(c => c.model.type === 'code' && ({pred})); {body} }})()"


def change_and_shoot(cdp: CDP, pred: str, action: str, what: str, path: Path, keys=()):
    "Do `action` (JS, `cell` bound) in the cell `pred` finds, press `keys`, wait for its figures to change, screenshot it."
    before = cell_info(cdp, pred)['images']
    if not cdp.js(in_cell(pred, action)): raise RuntimeError(f"could not {what}: control not found")
    for k, code in keys: cdp.key(k, code); time.sleep(0.3)
    t0 = time.time()
    while (info := cell_info(cdp, pred))['images'] == before:
        if time.time() - t0 > 120: raise RuntimeError(f"{what} in the browser did not redraw the explorer")
        time.sleep(1)
    time.sleep(1)
    info = cell_info(cdp, pred)
    print(f"    {what}: redrawn ({len(info['images'])} figures)")
    save_png(cdp.png({k: info[k] for k in ('x', 'y', 'width', 'height')}), path)


def explorers(cdp: CDP, out: Path):
    "Drive 13a_explorers' showcase explorers from the page and screenshot them."
    info = cell_info(cdp, EXPLORER_CELL)
    if info is None or info['widgets'] == 0 or len(info['images']) < 2:
        raise RuntimeError(f"the HeatmapExplorer did not render as a widget with two figures: {info}")
    save_png(cdp.png({k: info[k] for k in ('x', 'y', 'width', 'height')}), out / 'explorer.png')
    select = "const s = [...cell.node.querySelectorAll('.widget-dropdown')].find(d => d.textContent.includes('joint')).querySelector('select');"
    change_and_shoot(cdp, EXPLORER_CELL, select + "s.selectedIndex = 11; s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                     "joint set to l_wrist", out / 'explorer_joint.png')
    cdp.js(in_cell(EXPLORER_CELL, "[...cell.node.querySelectorAll('button')].find(b => b.textContent.trim() === 'pyramid').click(); return true;"))
    time.sleep(3)
    handle = ("const h = [...cell.node.querySelectorAll('.widget-slider')].find(d => d.textContent.includes('stack'))"
              ".querySelector('.noUi-handle'); h.focus(); return document.activeElement === h;")
    change_and_shoot(cdp, EXPLORER_CELL, handle, "pyramid view, stack slider moved to stack 1 with the keyboard",
                     out / 'explorer_stack.png', keys=[('ArrowLeft', 37)])
    change_and_shoot(cdp, EXPLORER_CELL, "const c = [...cell.node.querySelectorAll('.widget-checkbox')].find(d => d.textContent.includes('flip'))"
                     ".querySelector('input'); c.click(); return true;", "flip test switched off", out / 'explorer_flip.png')
    handle = ("const h = [...cell.node.querySelectorAll('.widget-slider')].find(d => d.textContent.trim().startsWith('dx'))"
              ".querySelector('.noUi-handle'); h.focus(); return document.activeElement === h;")
    change_and_shoot(cdp, LOSS_CELL, handle, "LossExplorer dx dragged 3 px further with the keyboard", out / 'loss_explorer.png',
                     keys=[('ArrowRight', 39)] * 12)


SHOWN = """(() => {
  const nb = %s;
  if (!nb || !nb.content) return null;
  const problems = [];
  let want = 0, shown = 0;
  nb.content.widgets.filter(c => c.model.type === 'code').forEach((c, i) => {
    const outs = c.model.outputs.toJSON(), pics = outs.filter(o => o.data && (o.data['image/png'] || o.data['image/jpeg'])).length;
    const imgs = c.node.querySelectorAll('.jp-OutputArea-output img').length, text = c.node.textContent;
    want += pics; shown += Math.min(imgs, pics);
    if (imgs < pics) problems.push(`code cell ${i}: ${pics} pictures saved, ${imgs} shown`);
    if (text.includes('Error displaying widget')) problems.push(`code cell ${i} shows "Error displaying widget"`);
    if (outs.some(o => o.output_type === 'error')) problems.push(`code cell ${i} has an error output`);
  });
  return {want, shown, problems, status: nb.sessionContext.kernelDisplayStatus};
})()""" % NB


def without_outputs(path: Path) -> dict:
    "A notebook file minus its outputs: what `git diff` shows when only outputs changed."
    nb = json.loads(path.read_text(encoding='utf-8'))
    for c in nb['cells']: c.pop('outputs', None)
    return nb


def reopen(cdp: CDP, lab_port: int, name: str, saved: Path, args) -> list[str]:
    "Save as a user does (an autosave, then Ctrl+S), shut the kernel down, close, open again; what is wrong with the reopened notebook."
    cdp.js(f"(async () => {{ const nb = {NB}; await nb.context.save(); await nb.context.save(); await nb.sessionContext.shutdown();"
           f"nb.close(); return true; }})()")
    problems = []
    if without_outputs(saved) != without_outputs(REPO / 'nbs' / name):
        problems.append('the saved notebook differs from the committed one in more than its outputs (is the nbdev save hook on?)')
    outputs = [o for c in json.loads(saved.read_text(encoding='utf-8'))['cells'] for o in c.get('outputs', [])]
    if any(WIDGET_VIEW in o.get('data', {}) for o in outputs):              # in an output, not in code that names the type
        problems.append('the saved notebook holds widget views (is mss_pose.save_hook on?)')
    cdp('Page.navigate', url=f'http://127.0.0.1:{lab_port}/lab/tree/repo/nbs/{name}?reset')
    cdp.poll(f"!!(window.jupyterapp && {NB} && {NB}.sessionContext && {NB}.sessionContext.kernelDisplayStatus === 'idle')",
             args.timeout, f'JupyterLab to reopen {name}')
    t0 = time.time()
    while (st := cdp.js(SHOWN)) is None or (st['shown'] < st['want'] and time.time() - t0 < 60): time.sleep(2)
    time.sleep(5)                                                   # the widget manager has restored (or failed to) by now
    st = cdp.js(SHOWN)
    print(f"    reopened after save: {st['shown']} of {st['want']} pictures shown")
    notebook_shot(cdp, args.out / ('reopened_' + name.replace('.ipynb', '.png')), args.scale)
    cdp.js(f"(async () => {{ await {NB}.sessionContext.shutdown(); return true; }})()")
    return problems + st['problems']


def run_notebook(cdp: CDP, lab_port: int, name: str, args) -> tuple[bool, str]:
    "Open, Run All, check and screenshot one notebook; (passed, summary)."
    cdp('Page.navigate', url=f'http://127.0.0.1:{lab_port}/lab/tree/repo/nbs/{name}?reset')
    cdp.poll(f"!!(window.jupyterapp && {NB} && {NB}.sessionContext && {NB}.sessionContext.session && "
             f"{NB}.sessionContext.session.kernel && {NB}.sessionContext.kernelDisplayStatus === 'idle')",
             180, f'JupyterLab to open {name} with an idle kernel')
    cdp.js(f"(() => {{ const s = window.jupyterapp.shell; s.collapseLeft(); s.collapseRight(); s.activateById({NB}.id); return true; }})()")
    t0, st = time.time(), None
    cdp.js("window.jupyterapp.commands.execute('notebook:run-all-cells'), true")   # not awaited: it ends with the run
    while time.time() - t0 < args.timeout:
        time.sleep(2)
        st = cdp.js(STATE)
        if st['status'] == 'idle' and (st['done'] == st['n'] or st['problems']): break
    else: return False, f"did not finish within {args.timeout:.0f} s: {st['done']} of {st['n']} code cells ran"
    took = time.time() - t0
    ok, msg = not st['problems'], f"{st['n']} code cells in {took:.0f} s"
    for p in st['problems']:
        p = ANSI.sub('', p).splitlines()
        print('    FAILED: ' + '\n      '.join(p[:2] + (['...'] if len(p) > 14 else []) + p[2:][-12:]))
    notebook_shot(cdp, args.out / name.replace('.ipynb', '.png'), args.scale)
    if ok and name == '13a_explorers.ipynb': explorers(cdp, args.out)
    if not ok: return ok, msg
    for p in (problems := reopen(cdp, lab_port, name, args.tmp / 'repo' / 'nbs' / name, args)): print(f"    FAILED after reopening: {p}")
    return not problems, msg + ('; saved, closed and reopened: ' + ('clean' if not problems else f'{len(problems)} problems'))


def run(args) -> int:
    names = [Path(n).name for n in args.notebooks] or sorted(p.name for p in (REPO / 'nbs').glob('*.ipynb'))
    if missing := [n for n in names if not (REPO / 'nbs' / n).is_file()]: raise FileNotFoundError(f"no such notebook in nbs/: {missing}")
    chromium = shutil.which(args.chromium) or args.chromium
    if not Path(chromium).exists(): raise FileNotFoundError(f"chromium not found ({args.chromium}); install Debian's: apt-get install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp, before = Path(tempfile.mkdtemp(prefix='mss_browser_check_')), git_state()
    args.tmp = tmp
    lab = chrome = None
    try:
        (tmp / 'repo' / 'nbs').mkdir(parents=True)
        for n in names: shutil.copy(REPO / 'nbs' / n, tmp / 'repo' / 'nbs' / n)
        for p in REPO.iterdir():                                      # the rest of the checkout (docs/, mss_pose/, ...) linked
            if p.name not in ('nbs', '.git'): (tmp / 'repo' / p.name).symlink_to(p)
        if (REPO.parent / 'shared').exists() and not args.no_shared: (tmp / 'shared').symlink_to(REPO.parent / 'shared')
        settings = tmp / 'settings'
        for ext, value in (('notebook-extension/tracker', {'windowingMode': 'none'}), ('apputils-extension/notification', {'fetchNews': 'false'})):
            f = settings / '@jupyterlab' / f'{ext}.jupyterlab-settings'
            f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(value))
        lab_port, cdp_port = free_port(), free_port()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep))
        env.pop('IN_TEST', None)
        env['JUPYTER_DATA_DIR'] = str(tmp / 'data')                # notebook signatures (trust) of this check only
        lab = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={lab_port}',
                                "--ServerApp.token=", "--ServerApp.password=", f'--ServerApp.root_dir={tmp}', '--expose-app-in-browser',
                                f'--LabApp.user_settings_dir={settings}', f'--LabApp.workspaces_dir={tmp / "workspaces"}',
                                '--ContentsManager.pre_save_hook=nbdev.clean.clean_jupyter',    # what nbdev-install-hooks installs
                                '--ServerApp.jpserver_extensions=mss_pose.save_hook=True'],     # and the README's extension
                               cwd=tmp, env=env, stdout=open(tmp / 'lab.log', 'w'), stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f'http://127.0.0.1:{lab_port}/api/status', 300, 'jupyter lab')
        chrome = subprocess.Popen([chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars',
                                   f'--remote-debugging-port={cdp_port}', '--remote-allow-origins=*', f'--user-data-dir={tmp / "chrome"}',
                                   f'--window-size={args.width},{args.height}', 'about:blank'],
                                  stdout=open(tmp / 'chrome.log', 'w'), stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f'http://127.0.0.1:{cdp_port}/json/version', 60, 'chromium DevTools')
        page = next(t for t in wait_http(f'http://127.0.0.1:{cdp_port}/json/list', 30, 'chromium targets') if t['type'] == 'page')
        cdp = CDP(page['webSocketDebuggerUrl'])
        cdp('Page.enable'); cdp('Runtime.enable')
        cdp('Emulation.setFocusEmulationEnabled', enabled=True)      # headless pages have no focus: JupyterLab needs it
        cdp('Emulation.setDeviceMetricsOverride', width=args.width, height=args.height, deviceScaleFactor=1, mobile=False)
        print(f"JupyterLab {'with' if (tmp / 'shared').exists() else 'without'} ../shared, Chromium {args.width}x{args.height}")
        results = {}
        for n in names:
            print(f"  {n} ...", flush=True)
            try: results[n] = run_notebook(cdp, lab_port, n, args)
            except RuntimeError as e: results[n] = (False, str(e))
            print(f"  {'ok    ' if results[n][0] else 'FAILED'} {n}: {results[n][1]}", flush=True)
    finally:
        stop(chrome); stop(lab)
        if args.keep: print(f'kept {tmp}')
        else: shutil.rmtree(tmp, ignore_errors=True)
    shots = f"{args.out.relative_to(REPO)}/" if args.out.is_relative_to(REPO) else None      # the screenshots may change
    stray = sorted(f for f, v in git_state().items() if before.get(f) != v and not (shots and f.startswith(shots)))
    if stray: print(f"FAILED: the notebooks changed files of the repository: {stray}")
    bad = [n for n, (ok, _) in results.items() if not ok]
    print(f"{len(results) - len(bad)} of {len(results)} notebooks ran clean in JupyterLab" + (f"; failed: {bad}" if bad else ''))
    return 1 if bad or stray else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: every nbs/*.ipynb)')
    p.add_argument('--out', type=Path, default=REPO / 'docs' / 'notebooks', help='folder for the screenshots')
    p.add_argument('--timeout', type=float, default=900, help="seconds allowed for one notebook's Run All")
    p.add_argument('--no-shared', action='store_true', help='run as on a clone without ../shared/data')
    p.add_argument('--scale', type=float, default=0.5, help='scale of the whole-notebook screenshots')
    p.add_argument('--chromium', default='chromium', help='Chromium executable')
    p.add_argument('--width', type=int, default=1400); p.add_argument('--height', type=int, default=1800)
    p.add_argument('--keep', action='store_true', help='keep the temporary folder (logs, executed copies)')
    args = p.parse_args()
    args.out = args.out.resolve()
    try: sys.exit(run(args))
    except (RuntimeError, FileNotFoundError, StopIteration) as e:
        print(f'FAILED: {e}'); sys.exit(1)


if __name__ == '__main__':
    main()
