"""Whole-command time of the `mss_pose` CLI: `mss_pose --help`, and `mss_pose eval` on 200 LSPET images, against mediapipe's.

    python benchmarks/cli_speed.py                 # needs ../shared/data/lspet and mediapipe's venv; --runs 3 for a steadier median

`--help` is what start-up costs a user; `eval` is timed from the shell's view (process start to exit) on the last 200
LSPET images (inside the held-out 1,000) with the shipped checkpoint and the flip test, twice: with their labels
(`joints.mat`, so PCK tables too) and as a bare folder of images (predictions only); neither imports fastai. Each
command runs in a fresh process with the environment of this one (so `PYTHONPATH` picks the checkout to measure),
once per `--threads` value as `OMP_NUM_THREADS` (torch's thread count). The graph engines' export cache
(`mss_pose.export.cached_onnx`) starts empty: the first command, timed on its own row, exports the checkpoint and the
others read it back, as a user's commands after the first do.

mediapipe's whole command is `benchmarks/vs_mediapipe.py --model mediapipe` on the same 200 images, in its own venv
(`--mediapipe-python`, default /tmp/mpvenv/bin/python; see vs_mediapipe.py for how to make it): Python start-up,
importing mediapipe, building its graph, the loop, and writing its predictions, as `mss_pose eval` writes its own. Its
legacy API runs 1 inference thread whatever OMP_NUM_THREADS says. Writes benchmarks/results/cli_speed.json.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import scipy.io as sio
import torch

ROOT = Path(__file__).resolve().parents[1]
LSPET = ROOT / '..' / 'shared' / 'data' / 'lspet'

def command() -> list[str]:
    "The `mss_pose` console script next to this Python, else `python -m mss_pose.cli`."
    script = Path(sys.executable).parent / 'mss_pose'
    return [str(script)] if script.is_file() else [sys.executable, '-m', 'mss_pose.cli']

def cpu_name() -> str:
    "The CPU's model name from /proc/cpuinfo, else what platform knows."
    try: return next(l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def timed(argv: list[str], runs: int, env: dict | None = None) -> list[float]:
    "Wall-clock seconds of each of `runs` runs of `argv`, which must succeed."
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t)
        if r.returncode: raise RuntimeError(f"{' '.join(argv)} exited with {r.returncode}: {r.stderr[-2000:]}")
    return times

def lspet_subset(dst: Path, n: int, labels: bool) -> Path:
    "An LSP folder of the last `n` LSPET images (symlinks), with their `joints.mat` when `labels`."
    (dst / 'images').mkdir(parents=True)
    imgs = sorted((LSPET / 'images').glob('*.jpg'))[-n:]
    for f in imgs: (dst / 'images' / f.name).symlink_to(f.resolve())
    if labels: sio.savemat(dst / 'joints.mat', {'joints': sio.loadmat(LSPET / 'joints.mat')['joints'][:, :, -n:]})
    return dst

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=200, help='LSPET images to evaluate')
    p.add_argument('--runs', type=int, default=2, help='runs of each command (the median is reported)')
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2], help="OMP_NUM_THREADS of each command's runs")
    p.add_argument('--eval-flags', nargs='*', default=[], help='extra `mss_pose eval` flags (default: none, the default settings)')
    p.add_argument('--mediapipe-python', default='/tmp/mpvenv/bin/python', help="mediapipe's venv Python ('' to leave mediapipe out)")
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'cli_speed.json'))
    a = p.parse_args(argv)
    if not LSPET.is_dir(): sys.exit(f"LSPET not found at {LSPET}")
    cmd, rows, load = command(), {}, os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        data = {labels: lspet_subset(Path(d) / f'lspet_{labels}', a.images, labels) for labels in (True, False)}
        cache = {**os.environ, 'MSS_POSE_CACHE': str(Path(d) / 'cache')}    # the export cache of the graph engines, empty
        eval_cmd = cmd + ['eval', '--data', str(data[False]), '--out', str(Path(d) / 'p.json'), *a.eval_flags]
        rows['eval images only, first command (empty cache), 1 thr'] = timed(eval_cmd, 1, {**cache, 'OMP_NUM_THREADS': '1'})
        for t in a.threads:
            env = {**cache, 'OMP_NUM_THREADS': str(t)}
            rows[f'help, {t} thr'] = timed(cmd + ['--help'], max(a.runs, 5), env)
            for labels in (True, False):
                rows[f"eval {'with labels' if labels else 'images only'}, {t} thr"] = timed(
                    cmd + ['eval', '--data', str(data[labels]), '--out', str(Path(d) / 'p.json'), *a.eval_flags], a.runs, env)
            if a.mediapipe_python: rows[f'mediapipe, {t} thr'] = timed(
                [a.mediapipe_python, str(ROOT / 'benchmarks' / 'vs_mediapipe.py'), '--model', 'mediapipe', '--data', str(data[False]),
                 '--n-valid', str(a.images), '--out', str(Path(d) / 'mp.json')], a.runs, env)
    res = dict(command=' '.join(Path(c).name for c in cmd), eval_flags=a.eval_flags, n_images=a.images, cpu=cpu_name(),
               cpu_capability=torch.backends.cpu.get_cpu_capability(), cores=len(os.sched_getaffinity(0)), threads=a.threads,
               torch=torch.__version__, load_average_before=load, load_average_after=os.getloadavg(),
               seconds={k: dict(median=statistics.median(v), runs=v) for k, v in rows.items()})
    print(f"cpu: {res['cpu']}, capability {res['cpu_capability']}, {res['cores']} cores, load average {load[0]:.1f}; torch {res['torch']}")
    for k, v in res['seconds'].items():
        ips = f"{a.images / v['median']:6.1f} images/s" if not k.startswith('help') else ''
        print(f"{k:28}{v['median']:8.2f} s {ips}  (runs: {', '.join(f'{t:.2f}' for t in v['runs'])})")
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")
    return res

if __name__ == '__main__': main()
