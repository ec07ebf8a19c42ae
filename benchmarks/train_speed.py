"""Training throughput of MSS-Net with the real loss and optimizer: fp32 vs mixed precision, eager vs torch.compile.

    python benchmarks/train_speed.py --preset hg8 --batch 32                 # on a GPU: fp32, amp, fp32+compile, amp+compile
    python benchmarks/train_speed.py --preset small --batch 16                # CPU figures for the same table: fp32, bf16 amp
    python benchmarks/train_speed.py --preset small --batch 16 --layout nchw  # the same without channels_last

One training step = forward, MSSLoss (structure-aware, every stack and scale, final output), backward, Adam step, on
random images with targets rendered from random keypoints, channels_last as in `mss_learner` (`--layout nchw` to compare).
amp is autocast in bf16 (fp16 with a GradScaler on older GPUs); on a CPU without native bf16 (no AVX-512 BF16 or AMX)
bf16 is emulated and several times slower than fp32, which is why `--amp auto` trains in fp32 there; on CUDA also
cuDNN autotuning. Prints a table, writes benchmarks/results/train_speed.json.
"""
from __future__ import annotations
import argparse, contextlib, json, platform, statistics, time
from pathlib import Path
import torch
from mss_pose.heatmaps import render_multiscale
from mss_pose.loss import MSSLoss
from mss_pose.model import MSSConfig, MSSNet
from mss_pose.learner import cpu_summary


def _setup(cfg, batch, dev, compile_, fmt):
    "Model, optimizer, loss and one batch on `dev` in memory format `fmt`."
    model = MSSNet(cfg).to(dev, memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(batch, 3, cfg.in_size, cfg.in_size, device=dev).contiguous(memory_format=fmt)
    kps = torch.rand(batch, cfg.J, 2, device=dev) * (cfg.in_size - 32) + 16
    tg, w = render_multiscale(kps, torch.ones(batch, cfg.J, device=dev), cfg.in_size, cfg.scale_sizes)
    return (torch.compile(model) if compile_ else model), opt, MSSLoss(cfg), (x, kps, w, tg)


def _run(mode, cfg, batch, iters, warmup, dev, fmt):
    "Median seconds per training step for one mode ('fp32' or 'amp', optionally '+compile')."
    amp = mode.startswith('amp')
    dtype = torch.bfloat16 if dev.type != 'cuda' or torch.cuda.is_bf16_supported() else torch.float16
    model, opt, lf, (x, kps, w, tg) = _setup(cfg, batch, dev, mode.endswith('+compile'), fmt)
    scaler = torch.amp.GradScaler(enabled=amp and dtype == torch.float16)
    ts = []
    for i in range(warmup + iters):
        if dev.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast(dev.type, dtype=dtype) if amp else contextlib.nullcontext():
            loss = lf(model(x), kps, w, *tg)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
        if dev.type == 'cuda': torch.cuda.synchronize()
        if i >= warmup: ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='hg8'); p.add_argument('--batch', type=int, default=32)
    p.add_argument('--iters', type=int, default=20); p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--modes', nargs='+', default=None, help='fp32 amp fp32+compile amp+compile (default: all on CUDA, fp32 amp on CPU)')
    p.add_argument('--layout', default='nhwc', choices=['nhwc', 'nchw'], help='nhwc: channels_last, as the learner trains')
    p.add_argument('--device', default='auto')
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'train_speed.json'))
    a = p.parse_args(argv)
    dev = torch.device(('cuda' if torch.cuda.is_available() else 'cpu') if a.device == 'auto' else a.device)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    modes = a.modes or (['fp32', 'amp', 'fp32+compile', 'amp+compile'] if dev.type == 'cuda' else ['fp32', 'amp'])
    cfg = MSSConfig.preset(a.preset, joint_set='mpii')
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else cpu_summary()
    rows = []
    for m in modes:
        s = _run(m, cfg, a.batch, a.iters, a.warmup, dev, torch.channels_last if a.layout == 'nhwc' else torch.contiguous_format)
        rows.append(dict(mode=m, layout=a.layout, s_per_step=s, img_s=a.batch / s))
    print(f"{name}: MSS-Net {a.preset} ({cfg.in_size} px), batch {a.batch}, {a.layout}, median of {a.iters} steps after {a.warmup} warm-up")
    print(f"{'mode':<16}{'s/step':>10}{'img/s':>10}")
    for r in rows: print(f"{r['mode']:<16}{r['s_per_step']:>10.3f}{r['img_s']:>10.1f}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(dict(benchmark='train_speed', device=name, preset=a.preset, batch=a.batch, layout=a.layout,
                                           torch=torch.__version__, results=rows), indent=1))


if __name__ == '__main__': main()
