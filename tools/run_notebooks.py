#!/usr/bin/env python
"""Execute the notebooks in place and keep their outputs, as a reader sees them on GitHub or in JupyterLab.

Usage, from the repository root (rerun it whenever the shipped weights in `mss_pose/weights/` or a figure change, and
commit the notebooks):

    python tools/run_notebooks.py                               # every notebook in nbs/
    python tools/run_notebooks.py nbs/00_skeleton.ipynb nbs/13a_explorers.ipynb   # only these
    nice -n 19 env OMP_NUM_THREADS=1 python tools/run_notebooks.py             # on a shared machine

Each notebook runs top to bottom in a fresh `python3` kernel started in `nbs/`, with `IN_TEST` unset (so it runs as
"Run All" does in JupyterLab, not as `nbdev-test` does) and `mss_pose` imported from this checkout (`PYTHONPATH`).
Then the outputs are made small and stable:

- PNG figures wider than `--max-width` (800 px) are downscaled and re-encoded: plots and diagrams (few colours) as
  256-colour PNGs, photos and heatmaps over images as JPEGs of quality 85 where that is less than half the PNG;
- widget views (`application/vnd.jupyter.widget-view+json`) are dropped: widget state is not saved, so they could not
  be drawn; an output that had nothing else to show (a bare `Output()`) goes with them, while an explorer keeps the PNG
  snapshot it carries next to its widget view; HTML outputs that show nothing (fastai's emptied progress bars, its
  style sheet) are dropped too;
- notebook widget state, execution counts, timings and other metadata go, through `nbdev-clean` itself, so the
  committed file is what `nbdev-clean` writes and `nbdev-clean` keeps the outputs.

A notebook that raises, writes to stderr (a warning a reader would see) or shows a figure as `<Figure size ...>` text is
reported and left unchanged on disk;
the command then exits with status 1. So does any other tracked file that changed while the notebooks ran (a notebook
must not rewrite repository files). Per notebook it prints the run time, the slowest cell and the size of the outputs.
"""
from __future__ import annotations
import argparse, base64, io, os, re, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
SHOWABLE = ('image/png', 'image/jpeg', 'image/svg+xml', 'text/html', 'text/markdown', 'text/latex')


def git_changes() -> dict[str, tuple]:
    "`{path: (git status, mtime)}` of the repository's changed and untracked files."
    r = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=REPO, capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines() if r.returncode == 0 else []:
        f = line[3:].split(' -> ')[-1]
        out[f] = (line[:2], (REPO / f).stat().st_mtime_ns if (REPO / f).exists() else None)
    return out


def small_image(b64: str, max_width: int) -> tuple[str, str]:
    "A PNG output (base64) at most `max_width` px wide, as `(mime type, base64)`: a 256-colour PNG for plots and diagrams, JPEG for photos."
    from PIL import Image
    raw = base64.b64decode(b64)
    im = Image.open(io.BytesIO(raw))
    if im.width > max_width: im = im.resize((max_width, round(im.height * max_width / im.width)), Image.LANCZOS)
    rgb = Image.new('RGB', im.size, 'white')
    rgb.paste(im, mask=im.getchannel('A') if im.mode == 'RGBA' else None)
    png, jpg = io.BytesIO(), io.BytesIO()
    if rgb.getcolors(maxcolors=1 << 14) is not None:                  # few colours: a plot or a diagram, keep it crisp
        rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(png, format='PNG', optimize=True)
        return 'image/png', base64.b64encode(png.getvalue() if len(png.getvalue()) < len(raw) else raw).decode()
    rgb.save(png, format='PNG', optimize=True)
    rgb.save(jpg, format='JPEG', quality=85, optimize=True)
    best = min((len(png.getvalue()), 'image/png', png), (2 * len(jpg.getvalue()), 'image/jpeg', jpg))   # JPEG if under half
    return best[1], base64.b64encode(best[2].getvalue()).decode()


def blank_html(data: dict) -> bool:
    "An HTML output that shows nothing: an emptied progress bar, a style sheet."
    if not set(data) <= {'text/html', 'text/markdown', 'text/plain'} or 'text/html' not in data: return False
    html = ''.join(data['text/html'])
    if re.search(r'<(img|svg|table|progress|canvas|iframe)\b', html, flags=re.I): return False
    return not re.sub(r'<[^>]*>', '', re.sub(r'<style.*?</style>', '', html, flags=re.S | re.I)).strip()


def tidy_outputs(nb, max_width: int) -> list[str]:
    "Shrink PNGs, drop widget views, blank execution counts; returns what a reader should not see (errors, stderr)."
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code': continue
        cell.execution_count = None
        cell.metadata.pop('execution', None)
        keep = []
        for o in cell.get('outputs', []):
            if o.output_type == 'error': problems.append(f"cell {i}: {o.ename}: {o.evalue}")
            if o.output_type == 'stream' and o.name == 'stderr':
                problems.append(f"cell {i}: stderr: {o.text.strip().splitlines()[0][:200] if o.text.strip() else '(blank)'}")
            if 'execution_count' in o: o.execution_count = None
            data = o.get('data', {})
            if ''.join(data.get('text/plain', '')).startswith('<Figure size') and 'image/png' not in data:
                problems.append(f"cell {i}: a figure shown as text (no inline backend: add %matplotlib inline)")
            if WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                if not any(k in data for k in SHOWABLE): continue
            if blank_html(data): continue
            if 'image/png' in data:
                mime, img = small_image(data.pop('image/png'), max_width)
                data[mime] = img
            keep.append(o)
        cell.outputs = keep
    nb.metadata.pop('widgets', None)
    return problems


def slowest(nb) -> tuple[float, int]:
    "Seconds and index of the slowest cell, from nbclient's timing metadata."
    from datetime import datetime
    best = (0., -1)
    for i, c in enumerate(nb.cells):
        t = c.get('metadata', {}).get('execution', {})
        a, b = t.get('iopub.execute_input'), t.get('shell.execute_reply')
        if a and b:
            d = (datetime.fromisoformat(b.replace('Z', '+00:00')) - datetime.fromisoformat(a.replace('Z', '+00:00'))).total_seconds()
            best = max(best, (d, i))
    return best


def client(nb, **kwargs):
    "An nbclient `NotebookClient` whose shell channel is polled in one-second slices."
    from nbclient import NotebookClient
    from queue import Empty
    from time import monotonic

    class Client(NotebookClient):
        # nbclient#312: after a cell that drew into an Output widget, the execute reply can sit unnoticed until the cell
        # timeout runs out (here 36 s of a 40 s timeout, twice in 13a_explorers); a fresh poll every second sees it at once
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            get = kc.shell_channel.get_msg
            async def get_msg(timeout=None):
                end = None if timeout is None else monotonic() + timeout
                while True:
                    try: return await get(timeout=1. if end is None else max(0., min(1., end - monotonic())))
                    except Empty:
                        if end is not None and monotonic() >= end: raise
            kc.shell_channel.get_msg = get_msg
            return kc
    return Client(nb, **kwargs)


def run_one(path: Path, args) -> tuple[bool, str]:
    "Execute one notebook; write it back (tidied and cleaned) only when it ran without errors or stderr."
    import nbformat
    from nbclient.exceptions import CellExecutionError
    nb = nbformat.read(path, as_version=4)
    kc = client(nb, timeout=args.timeout, kernel_name='python3', allow_errors=True, record_timing=True,
                resources={'metadata': {'path': str(path.parent)}})
    t0 = time.time()
    log = tempfile.TemporaryFile('w+')                                # the kernel's own stderr (its start-up chatter)
    try: kc.execute(stderr=log)
    except (CellExecutionError, RuntimeError, TimeoutError) as e:
        log.seek(0)
        return False, f"did not finish: {str(e).splitlines()[0][:300]}\n      kernel log: {log.read()[-500:]}"
    finally: log.close()
    took = time.time() - t0
    cell_s, cell_i = slowest(nb)
    problems = tidy_outputs(nb, args.max_width)
    summary = f"{took:6.1f} s (slowest: cell {cell_i}, {cell_s:.1f} s)"
    dest = Path(args.out) / path.name if args.out else path
    if problems and not args.out: return False, summary + '\n' + '\n'.join('      ' + p for p in problems)
    nbformat.write(nb, dest)
    r = subprocess.run(['nbdev-clean', '--fname', str(dest)], cwd=REPO, capture_output=True, text=True)
    if r.returncode: return False, summary + f"\n      nbdev-clean failed: {r.stderr.strip()[-300:]}"
    n_out = sum(len(c.get('outputs', [])) for c in nb.cells if c.cell_type == 'code')
    summary += f", {n_out} outputs, {dest.stat().st_size / 1024:.0f} KiB"
    return not problems, summary + ''.join('\n      ' + p for p in problems)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: every nbs/*.ipynb)')
    p.add_argument('--max-width', type=int, default=800, help='widest PNG output kept, in pixels')
    p.add_argument('--timeout', type=int, default=900, help='seconds allowed for one cell')
    p.add_argument('--out', help='write the executed notebooks to this folder instead (failed ones too, to inspect them)')
    a = p.parse_args(argv)
    if a.out: Path(a.out).mkdir(parents=True, exist_ok=True)
    paths = [Path(n).resolve() for n in a.notebooks] or sorted((REPO / 'nbs').glob('*.ipynb'))
    if missing := [str(q) for q in paths if not q.is_file()]: p.error(f"no such notebook: {', '.join(missing)}")
    os.environ.pop('IN_TEST', None)                                   # run as a reader does, not as nbdev-test
    os.environ['PYTHONPATH'] = os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    before, ok, t0 = git_changes(), True, time.time()
    for path in paths:
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path} ...", flush=True)
        good, msg = run_one(path, a)
        print(f"  {'ok    ' if good else 'FAILED'} {msg}", flush=True)
        ok &= good
    ran = {str(q.relative_to(REPO)) for q in paths if q.is_relative_to(REPO)}
    stray = sorted(f for f, v in git_changes().items() if before.get(f) != v and f not in ran)
    if stray:
        ok = False
        print("FAILED: running the notebooks changed or created other files in the repository:\n  " + '\n  '.join(stray))
    print(f"{'all ran' if ok else 'some failed'}: {len(paths)} notebooks in {time.time() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
