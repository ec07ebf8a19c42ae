"""Cost of the structure-aware multi-scale loss against plain heatmap MSE, forward + backward.

    python benchmarks/loss_speed.py                       # hg8-shaped outputs (B=16, S=8, 64/32/16/8 px, J=16), device auto
    python benchmarks/loss_speed.py --batch 32 --stacks 8 --device cuda

Rows: plain MSE on the finest scale of every stack (Newell's loss), MSSLoss with alpha=0 (multi-scale MSE + final),
and MSSLoss with alpha=1 (the structure-aware loss). Prints a table, writes benchmarks/results/loss_speed.json.
"""
from __future__ import annotations
import argparse, dataclasses, json, platform, statistics, time
from pathlib import Path
import torch
from mss_pose.learner import cpu_summary
from mss_pose.heatmaps import render_multiscale
from mss_pose.loss import MSSLoss
from mss_pose.model import MSSConfig, MSSOutput


def _inputs(B, S, J, sizes, dev):
    "Random predictions shaped like an MSSNet output, and rendered targets."
    kps = torch.rand(B, J, 2, device=dev) * (4 * sizes[0] - 32) + 16
    tg, w = render_multiscale(kps, torch.ones(B, J, device=dev), 4 * sizes[0], sizes)
    hms = [torch.randn(B, S, J, s, s, device=dev, requires_grad=True) for s in sizes]
    final = torch.randn(B, J, sizes[0], sizes[0], device=dev, requires_grad=True)
    return MSSOutput([final, hms]), kps, w, tg


def _plain(out, kps, w, *tg):
    "Newell's loss: MSE of every stack's finest heatmaps."
    return ((out.hms[0] - tg[0][:, None]) * w[:, None, :, None, None]).pow(2).mean() * out.hms[0].shape[1]


def _time(f, args, iters):
    out, kps, w, tg = args
    ts = []
    for _ in range(iters + 2):
        if kps.is_cuda: torch.cuda.synchronize()
        t = time.perf_counter(); f(out, kps, w, *tg).backward()
        if kps.is_cuda: torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts[2:]) * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--batch', type=int, default=16); p.add_argument('--stacks', type=int, default=8)
    p.add_argument('--iters', type=int, default=10); p.add_argument('--device', default='auto')
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'loss_speed.json'))
    a = p.parse_args(argv)
    dev = torch.device(('cuda' if torch.cuda.is_available() else 'cpu') if a.device == 'auto' else a.device)
    cfg = MSSConfig(joint_set='mpii', n_stacks=a.stacks)          # hg8-shaped: 256 px, scales 64/32/16/8, regression (a final term)
    args = _inputs(a.batch, a.stacks, cfg.J, cfg.scale_sizes, dev)
    rows = [('plain MSE (finest scale, every stack)', _plain),
            ('MSSLoss alpha=0 (multi-scale MSE + final)', MSSLoss(dataclasses.replace(cfg, alpha=0.), final_weight=1.)),
            ('MSSLoss alpha=1 (structure-aware)', MSSLoss(dataclasses.replace(cfg, alpha=1.), final_weight=1.))]
    res = [dict(loss=n, ms=_time(f, args, a.iters)) for n, f in rows]
    for r in res: r['ratio_to_plain'] = r['ms'] / res[0]['ms']
    print(f"device {dev} ({cpu_summary() if dev.type == 'cpu' else torch.cuda.get_device_name(dev)}), B={a.batch}, S={a.stacks}, J={cfg.J}, scales 64/32/16/8, forward+backward, median of {a.iters}")
    print(f"{'loss':<45}{'ms':>10}{'x plain':>10}")
    for r in res: print(f"{r['loss']:<45}{r['ms']:>10.2f}{r['ratio_to_plain']:>10.2f}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(dict(benchmark='loss_speed', device=str(dev), cpu=cpu_summary(), batch=a.batch, stacks=a.stacks, J=cfg.J,
                                           torch=torch.__version__, python=platform.python_version(), results=res), indent=1))


if __name__ == '__main__': main()
