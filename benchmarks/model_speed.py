"""Throughput of the baseline stacked hourglass vs. MSS-Net: forward and forward+backward images/s, and the overhead.

    python benchmarks/model_speed.py                      # small and hg8 presets, device auto
    python benchmarks/model_speed.py --presets hg8 --batch 32 --iters 20 --device cuda

CPU runs in fp32 with contiguous tensors; CUDA runs under autocast (fp16 by default) with channels_last and cuDNN
autotuning, as training does. Baseline and MSS-Net iterations are interleaved so that load from other processes hits
both alike, and the median iteration is reported. Writes benchmarks/results/model_speed.json.
"""
from __future__ import annotations
import argparse, contextlib, json, platform, statistics, time
from pathlib import Path
import torch
from mss_pose.learner import cpu_summary
from mss_pose.model import MSSConfig, MSSNet, PRESETS
from mss_pose.hourglass import n_params

# defaults small enough for a 2-core CPU to finish hg8 in a few minutes
CPU_BATCH, CPU_ITERS, CUDA_BATCH, CUDA_ITERS = {'hg8': 2, 'hg2': 2}, {'hg8': 5, 'hg2': 5}, 32, 20

def _loss(out) -> torch.Tensor:
    "A stand-in for the training loss that touches every output (its cost is negligible)."
    return out.final.float().square().mean() + sum(h.float().square().mean() for h in out.hms)

def _step(model, x, train: bool, amp_dtype):
    "One forward (inference mode) or forward+backward pass."
    amp = torch.autocast(x.device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
    with amp:
        if not train:
            with torch.inference_mode(): return model(x)
        loss = _loss(model(x))
    loss.backward()
    model.zero_grad(set_to_none=True)

def _time(model, x, train, amp_dtype) -> float:
    "Wall-clock seconds of one step, synchronised on CUDA."
    if x.is_cuda: torch.cuda.synchronize()
    t = time.perf_counter(); _step(model, x, train, amp_dtype)
    if x.is_cuda: torch.cuda.synchronize()
    return time.perf_counter() - t

def bench_preset(preset: str, batch: int, iters: int, warmup: int, dev: torch.device, amp_dtype, seed: int = 0) -> list[dict]:
    "Images/s of the baseline and the full MSS-Net of `preset`, forward and forward+backward."
    torch.manual_seed(seed)
    cfg = MSSConfig.preset(preset)
    fmt = torch.channels_last if dev.type == 'cuda' else torch.contiguous_format
    models = {'baseline': MSSNet(cfg.baseline()), 'mss': MSSNet(cfg)}
    models = {k: m.to(dev, memory_format=fmt) for k, m in models.items()}
    x = torch.randn(batch, 3, cfg.in_size, cfg.in_size, device=dev).contiguous(memory_format=fmt)
    times = {(k, mode): [] for k in models for mode in ('fwd', 'train')}
    for mode in ('fwd', 'train'):
        for m in models.values():
            m.train(mode == 'train')
            for _ in range(warmup): _step(m, x, mode == 'train', amp_dtype)
        for _ in range(iters):                      # interleaved: load spikes hit both models
            for k, m in models.items(): times[k, mode].append(_time(m, x, mode == 'train', amp_dtype))
    return [dict(preset=preset, model=k, batch=batch, iters=iters, params=n_params(m),
                 fwd_img_s=batch / statistics.median(times[k, 'fwd']),
                 train_img_s=batch / statistics.median(times[k, 'train'])) for k, m in models.items()]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--presets', nargs='+', default=['small', 'hg8'], choices=sorted(PRESETS))
    p.add_argument('--batch', type=int, default=None, help='default: 8 on CPU (2 for hg8/hg2), 32 on CUDA')
    p.add_argument('--iters', type=int, default=None, help='timed iterations per model and mode (default: 5 on CPU, 20 on CUDA)')
    p.add_argument('--warmup', type=int, default=None, help='untimed iterations first (default: 2 on CPU, 5 on CUDA)')
    p.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    p.add_argument('--amp', default='fp16', choices=['fp16', 'bf16', 'none'], help='autocast dtype on CUDA (CPU is always fp32)')
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'model_speed.json'))
    a = p.parse_args(argv)
    dev = torch.device('cuda' if a.device == 'cuda' or (a.device == 'auto' and torch.cuda.is_available()) else 'cpu')
    cuda = dev.type == 'cuda'
    if cuda: torch.backends.cudnn.benchmark = True
    amp_dtype = {'fp16': torch.float16, 'bf16': torch.bfloat16, 'none': None}[a.amp] if cuda else None
    rows = []
    for preset in a.presets:
        batch = a.batch or (CUDA_BATCH if cuda else CPU_BATCH.get(preset, 8))
        iters = a.iters or (CUDA_ITERS if cuda else CPU_ITERS.get(preset, 5))
        rows += bench_preset(preset, batch, iters, a.warmup if a.warmup is not None else (5 if cuda else 2), dev, amp_dtype)
    name = torch.cuda.get_device_name(dev) if cuda else cpu_summary()
    setting = f"{'AMP ' + a.amp + ' + channels_last' if amp_dtype else 'fp32, contiguous'}"
    print(f"device: {dev.type} ({name}); {setting}; torch {torch.__version__}")
    print(f"{'preset':8}{'model':10}{'batch':>6}{'params':>12}{'fwd img/s':>12}{'fwd+bwd img/s':>15}")
    overhead = {}
    for preset in a.presets:
        b, m = [next(r for r in rows if r['preset'] == preset and r['model'] == k) for k in ('baseline', 'mss')]
        for r in (b, m): print(f"{preset:8}{r['model']:10}{r['batch']:>6}{r['params']:>12,}{r['fwd_img_s']:>12.2f}{r['train_img_s']:>15.2f}")
        overhead[preset] = dict(fwd=b['fwd_img_s'] / m['fwd_img_s'], train=b['train_img_s'] / m['train_img_s'])
        print(f"{preset:8}{'MSS/base':10}{'':>6}{'time ratio':>12}{overhead[preset]['fwd']:>11.3f}x{overhead[preset]['train']:>14.3f}x")
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(device=dev.type, device_name=name, setting=setting, torch=torch.__version__,
                                   results=rows, overhead_time_ratio=overhead), indent=1) + '\n')
    print(f"wrote {out}")
    return rows

if __name__ == '__main__': main()
