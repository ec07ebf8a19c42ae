"""Training data pipeline throughput: LSPET at 256 px, full augmentation, bs 32, targets rendered in `after_batch`.

Usage: python benchmarks/data_pipeline.py [--batches 30] [--warmup 3] [--repeats 3] [--workers 0 1 2] [--sample]
Reads ../shared/data/lspet when present, else the shipped mss_pose/sample repeated. Prints a table of samples/s per
`num_workers` setting (plus the default; median of `--repeats` runs) and writes benchmarks/results/data_pipeline.json.
The machine is shared: the 1-minute load average before the runs is recorded, as other processes slow every setting.
"""
import argparse, json, os, platform, statistics, time
from pathlib import Path
import torch
from mss_pose.learner import cpu_summary
from mss_pose.readers import read_lsp, split_records
from mss_pose.data import AugConfig, default_num_workers, pose_dataloaders
from mss_pose.model import MSSConfig

ROOT = Path(__file__).resolve().parents[1]

def load_records(sample=False):
    "LSPET's 7,000 training people, or the shipped sample repeated to a similar size."
    full = ROOT/'..'/'shared'/'data'/'lspet'
    if full.exists() and not sample: return split_records(read_lsp(full), 1000)[0], 'lspet (7000 train)'
    recs = read_lsp(ROOT/'mss_pose'/'sample')
    return recs * 50, f'mss_pose/sample x50 ({len(recs) * 50})'

def time_loader(recs, num_workers, bs, n_batches, warmup, in_size=256):
    "Samples/s over `n_batches` batches after `warmup` batches (worker start-up excluded), after_batch included."
    cfg = MSSConfig(joint_set='lsp', in_size=in_size)           # depth 4: targets at in_size/4, /8, /16, /32
    dls = pose_dataloaders(recs, recs[:bs], cfg, bs=bs, aug=AugConfig(), num_workers=num_workers, device='cpu', seed=0)
    it = iter(dls.train)
    for _ in range(warmup): next(it)
    t0 = time.perf_counter()
    for _ in range(n_batches):
        x, kps, w, *hms = next(it)
    dt = time.perf_counter() - t0
    assert x.shape == (bs, 3, in_size, in_size) and [h.shape[-1] for h in hms] == [in_size // 4 // 2**k for k in range(4)]
    del it
    return n_batches * bs / dt

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--batches', type=int, default=30)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--sample', action='store_true', help='use the shipped sample even when ../shared/data/lspet exists')
    p.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'data_pipeline.json'))
    p.add_argument('--workers', type=int, nargs='*', default=[0, 1, 2])
    a = p.parse_args()
    recs, source = load_records(a.sample)
    if len(recs) < (a.batches + a.warmup) * a.bs: raise SystemExit(f"need {(a.batches + a.warmup) * a.bs} records, have {len(recs)}")
    default = default_num_workers()
    settings = sorted(set(a.workers) | {default})
    load = os.getloadavg()[0]
    rows = []
    for nw in settings:
        runs = [time_loader(recs, nw, a.bs, a.batches, a.warmup) for _ in range(a.repeats)]
        rows.append(dict(num_workers=nw, default=nw == default, samples_per_s=round(statistics.median(runs), 1),
                         runs=[round(r, 1) for r in runs]))
    print(f"data pipeline: {source}, 256 px, full augmentation, bs {a.bs}, {a.batches} batches after {a.warmup} warm-up, "
          f"{len(os.sched_getaffinity(0))} cores, {cpu_summary()}, load average {load:.2f}")
    print(f"{'num_workers':>11} | {'samples/s':>9} | {'runs':>22} |")
    print(f"{'-' * 11}-+-{'-' * 9}-+-{'-' * 22}-+")
    for r in rows:
        print(f"{r['num_workers']:>11} | {r['samples_per_s']:>9.1f} | {' '.join(f'{x:.0f}' for x in r['runs']):>22} |"
              f"{' <- default' if r['default'] else ''}")
    out = Path(a.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    res = dict(benchmark='data_pipeline', source=source, in_size=256, bs=a.bs, batches=a.batches, warmup=a.warmup,
               aug='AugConfig() (scale, rotation, flip, shift, colour)', device='cpu', cpu=cpu_summary(), cores=len(os.sched_getaffinity(0)),
               torch_threads=torch.get_num_threads(), load_average_1min=round(load, 2), repeats=a.repeats, python=platform.python_version(), torch=torch.__version__,
               default_num_workers=default, target_samples_per_s=200, results=rows,
               default_samples_per_s=next(r['samples_per_s'] for r in rows if r['default']))
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")

if __name__ == '__main__': main()
