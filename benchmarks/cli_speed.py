"""Whole-command time of the `mss_pose` CLI: `mss_pose --help`, and `mss_pose eval` on 200 LSPET images.

    python benchmarks/cli_speed.py                 # needs ../shared/data/lspet; --runs 3 for a steadier median

`--help` is what start-up costs a user; `eval` is timed from the shell's view (process start to exit) on the last 200
LSPET images (inside the held-out 1,000) with the shipped checkpoint and the flip test, twice: with their labels
(`joints.mat`, so PCK tables too) and as a bare folder of images (predictions only); neither imports fastai. Each
command runs in a fresh process with the environment of this one (so `PYTHONPATH` picks the checkout to measure).
Writes benchmarks/results/cli_speed.json.
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

def timed(argv: list[str], runs: int) -> list[float]:
    "Wall-clock seconds of each of `runs` runs of `argv`, which must succeed."
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True)
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
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'cli_speed.json'))
    a = p.parse_args(argv)
    if not LSPET.is_dir(): sys.exit(f"LSPET not found at {LSPET}")
    cmd, rows = command(), {}
    rows['help'] = timed(cmd + ['--help'], max(a.runs, 5))
    with tempfile.TemporaryDirectory() as d:
        for labels in (True, False):
            data = lspet_subset(Path(d) / f'lspet_{labels}', a.images, labels)
            rows[f"eval_{'labels' if labels else 'images_only'}"] = timed(cmd + ['eval', '--data', str(data), '--out', str(Path(d) / 'p.json')], a.runs)
    res = dict(command=' '.join(Path(c).name for c in cmd), n_images=a.images, cpu=platform.processor() or platform.machine(),
               cpu_capability=torch.backends.cpu.get_cpu_capability(), cores=len(os.sched_getaffinity(0)),
               omp_num_threads=os.environ.get('OMP_NUM_THREADS'), torch=torch.__version__, load_average=os.getloadavg(),
               seconds={k: dict(median=statistics.median(v), runs=v) for k, v in rows.items()})
    print(f"cpu: {res['cpu']}, capability {res['cpu_capability']}, {res['cores']} cores, load average {res['load_average'][0]:.1f}; torch {res['torch']}")
    for k, v in res['seconds'].items(): print(f"{k:20}{v['median']:8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in v['runs'])})")
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")
    return res

if __name__ == '__main__': main()
