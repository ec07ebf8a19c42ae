"""Where the time of a whole `mss_pose predict`/`eval` run goes, per engine and thread count.

    python benchmarks/profile_predict.py                      # the last 200 LSPET images (as cli_speed.py), 1 and 2 threads, every engine installed
    python benchmarks/profile_predict.py --data mss_pose/sample --images 20 --threads 1 --out /tmp/p.json   # does it run?

For each engine (SPECS: the bare fp32 `MSSNet`, what prediction ran on before the torch engine; the torch engine in
fp32 and, where the CPU computes bf16 natively, in bf16; `onnxruntime` and `openvino` (fp32, bf16 where native, and the int8 model
beside the checkpoint) when installed, on an .onnx file exported once
beforehand) and each thread count, prediction with its default settings (whole image, flip test, DARK decoding, a second pass around the first
pass's joints: `mss_pose.export.predict_files`, numpy on a graph engine) is taken apart, in its own order, into:

- start-up: a fresh Python process that imports `mss_pose.cli` and loads the engine (`load_engine`), as a command pays it;
- decode: reading and decoding the image files (twice: the second pass reads the images again);
- crop: warping and normalising the crops of both passes;
- first pass, second pass: the network on the unflipped crops;
- flip: the network on the mirrored crops of both passes, and the average (a call of its own, as prediction makes
  on a CPU: `flip_heatmaps`);
- heatmaps: decoding the heatmaps, mapping back to original pixels, and the second pass's boxes;
- other: a real `predict_files` run on the same images, engine and threads, minus the sum of the parts above (Python,
  the DataLoader). The replica's keypoints are checked against the real run's.

It also states the compute limit: GFLOP per image (`torch.utils.flop_counter` on one forward pass, times the passes
and the flip), the GFLOP/s a 3x3 convolution of the model's width at its heatmap size reaches on this CPU (the bulk
of the network's work), and the GFLOP/s each engine reaches on the whole network.

Every figure needs a quiet machine: any other process slows the parts unevenly. The README's "Speed" and
`nbs/17_export.ipynb` quote a run on a quiet Intel Xeon (`AVX512`, AVX-512 BF16 and AMX), 100 images, 2026-12-02.
Writes a table and benchmarks/results/profile_predict.json.
"""
from __future__ import annotations
import argparse, contextlib, importlib.util, json, os, statistics, subprocess, sys, tempfile, time, warnings
from collections import defaultdict
from pathlib import Path
import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from mss_pose.heatmaps import HeatmapCodec
from mss_pose.images import apply_affine, invert_affine
from mss_pose.inference import crop_image, load_image, load_model, normalise_crops, predict_paths, read_checkpoint, refine_boxes
from mss_pose.export import GraphEngine, decode_heatmaps_np, export_onnx, load_engine, normalise, predict_files
from mss_pose.model import native_bf16
warnings.filterwarnings('ignore', r'`torch\.jit\.script` is deprecated', FutureWarning)   # fastai, on import (as the CLI does)
from mss_pose.learner import cpu_summary

ROOT = Path(__file__).resolve().parents[1]
LSPET = ROOT / '..' / 'shared' / 'data' / 'lspet'
PARTS = ('decode', 'crop', 'first pass', 'second pass', 'flip', 'heatmaps')

def image_paths(data: Path, n: int) -> list[Path]:
    "The last `n` images (by name) of an LSP folder or a folder of images."
    d = data / 'images' if (data / 'images').is_dir() else data
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in ('.jpg', '.jpeg', '.png'))[-n:]
    if len(files) < n: sys.exit(f"{d} holds {len(files)} images, fewer than --images {n}")
    return files

SPECS = {'MSSNet fp32': ('torch', None), 'torch fp32': ('torch', 'fp32'), 'torch bf16': ('torch', 'bf16'), 'onnxruntime': ('onnxruntime', 'auto'),
         'openvino fp32': ('openvino', 'fp32'), 'openvino bf16': ('openvino', 'bf16'), 'openvino int8': ('openvino', 'int8')}
# engine rows: (engine, precision); 'MSSNet fp32' is the bare model (what prediction ran on before the TorchEngine)

def startup(model_file: Path, spec: str, threads: int) -> float:
    "Wall-clock seconds of a fresh process importing the CLI and loading the engine."
    engine, prec = SPECS[spec]
    code = ((f"import torch; torch.set_num_threads({threads}); " if engine == 'torch' else '')   # a graph engine: OMP_NUM_THREADS, no torch
            + f"import mss_pose.cli; from mss_pose.export import load_engine; "
            f"load_engine({str(model_file)!r}, {engine!r}, {'cpu' if engine == 'torch' else None!r}, precision={prec!r})")
    t = time.perf_counter()
    subprocess.run([sys.executable, '-c', code], check=True, env={**os.environ, 'OMP_NUM_THREADS': str(threads)})
    return time.perf_counter() - t

def replica(model, paths: list[Path], bs: int) -> tuple[dict, np.ndarray]:
    "`predict_files`' work (numpy on a graph engine, torch's `predict_paths` else), part by part: seconds per part, and the keypoints (N, J, 2)."
    cfg, times, graph = model.cfg, defaultdict(float), isinstance(model, GraphEngine)
    S, fi = cfg.in_size, torch.as_tensor(np.asarray(cfg.js.flip_index))
    codec = HeatmapCodec((S, S), method='dark')
    @contextlib.contextmanager
    def part(name):
        t = time.perf_counter(); yield; times[name] += time.perf_counter() - t
    boxes = None
    for name in ('first pass', 'second pass'):
        kps, scores = [], []
        for i in range(0, len(paths), bs):
            with part('decode'): imgs = [load_image(p) for p in paths[i:i + bs]]
            with part('crop'):
                crops, Ms = zip(*[crop_image(im, None if boxes is None else boxes[i + j], S) for j, im in enumerate(imgs)])
                x = normalise(np.stack(crops)) if graph else normalise_crops(np.stack(crops))
            if graph:
                with part(name): hm = model(x)
                with part('flip'): hm = (hm + model(np.ascontiguousarray(x[..., ::-1]))[..., ::-1][:, fi.numpy()]) / 2
            else:
                with torch.no_grad():
                    with part(name): hm = model(x).final.float()
                    with part('flip'): hm = (hm + model(x.flip(-1)).final.float().flip(-1)[:, fi]) / 2
            with part('heatmaps'):
                if graph: k, s = decode_heatmaps_np(hm); k = (k + 0.5) * (S / hm.shape[-1]) - 0.5
                else: k, s = (t.numpy() for t in codec.decode(hm))
                kps.append(apply_affine(k, invert_affine(np.stack(Ms)))); scores.append(s)
        kps, scores = np.concatenate(kps), np.concatenate(scores)
        if not cfg.person_pad: break
        if name == 'first pass':
            with part('heatmaps'): boxes = refine_boxes(kps, scores, cfg.person_pad)
    return dict(times), kps

def gflop_per_forward(model: nn.Module, S: int) -> float:
    "GFLOP (multiply and add counted apart) of one forward pass of one S x S image."
    with FlopCounterMode(display=False) as fc, torch.no_grad(): model(torch.zeros(1, 3, S, S))
    return fc.get_total_flops() / 1e9

def conv_gflops(channels: int, size: int, dtype=torch.float32, batch: int = 8, iters: int = 10) -> float:
    "GFLOP/s of a 3x3 convolution, `channels` in and out, on `batch` channels_last maps of `size` px in `dtype` (median of `iters`)."
    conv = nn.Conv2d(channels, channels, 3, padding=1).eval().to(dtype, memory_format=torch.channels_last)
    x = torch.randn(batch, channels, size, size, dtype=dtype).contiguous(memory_format=torch.channels_last)
    times = []
    with torch.no_grad():
        for i in range(iters + 2):
            t = time.perf_counter(); conv(x); times.append(time.perf_counter() - t)
    return 2 * channels * channels * 9 * size * size * batch / statistics.median(times[2:]) / 1e9

def profile(model_file: Path, spec: str, threads: int, paths: list[Path], bs: int, gflop_fwd: float, n_fwd: int) -> dict:
    "One row of the table: every part of a run on the engine `spec` (a key of SPECS) with `threads` threads."
    torch.set_num_threads(threads)
    engine, prec = SPECS[spec]
    model = load_engine(model_file, engine, 'cpu' if engine == 'torch' else None, threads, precision=prec)
    predict_files(model, paths[:2], bs=bs, device='cpu')                     # warm-up: first calls allocate and plan
    t = time.perf_counter(); kps, _ = predict_files(model, paths, bs=bs, device='cpu'); whole = time.perf_counter() - t
    parts, kr = replica(model, paths, bs)
    if (d := float(np.median(np.linalg.norm(kr - kps, axis=-1)))) > 0.05: raise RuntimeError(f"the replica's keypoints are {d:.2f} px off {spec}'s (median)")
    fwd = sum(parts.get(k, 0) for k in ('first pass', 'second pass', 'flip'))
    return dict(engine=spec, threads=threads, cpu=cpu_summary(), startup_s=startup(model_file, spec, threads),
                **{f'{k}_s': parts.get(k, 0.) for k in PARTS}, other_s=whole - sum(parts.values()), run_s=whole,
                img_s=len(paths) / whole, network_gflops=gflop_fwd * n_fwd * len(paths) / fwd)

def table(rows: list[dict], n: int) -> str:
    "The rows as a text table: seconds of each part, and the run's images/s."
    cols = ['startup', *PARTS, 'other', 'run']
    head = f"{'engine':14}{'thr':>4}" + ''.join(f"{c:>12}" for c in cols) + f"{'img/s':>8}{'net GFLOP/s':>13}"
    lines = [head] + [f"{r['engine']:14}{r['threads']:>4}" + ''.join(f"{r[c + '_s']:>12.2f}" for c in cols)
                      + f"{r['img_s']:>8.2f}{r['network_gflops']:>13.1f}" for r in rows]
    return '\n'.join(lines) + f"\n(seconds for {n} images; start-up once per command)"

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', type=Path, default=LSPET, help='LSP folder or folder of images (default: LSPET)')
    p.add_argument('--images', type=int, default=200, help='the last N images of --data')
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--engines', nargs='+', default=None, choices=list(SPECS), help='default: all (bf16 where the CPU has native bf16, onnxruntime and openvino when installed)')
    p.add_argument('--checkpoint', default=None, help='a .pth checkpoint (default: the shipped one)')
    p.add_argument('--bs', type=int, default=16, help='batch size, as the CLI\'s --bs')
    p.add_argument('--out', type=Path, default=ROOT / 'benchmarks' / 'results' / 'profile_predict.json')
    a = p.parse_args(argv)
    engines = a.engines or [e for e in SPECS if ('bf16' not in e or native_bf16()) and (SPECS[e][0] == 'torch' or importlib.util.find_spec(SPECS[e][0]))]
    paths, load = image_paths(a.data, a.images), os.getloadavg()[0]
    ck = read_checkpoint(a.checkpoint)
    cfg = ck['cfg']
    n_fwd = (2 if cfg.person_pad else 1) * 2                                 # passes, each with the flip test
    torch.set_num_threads(1)
    gflop_fwd = gflop_per_forward(load_model(ck['path'], 'cpu'), cfg.in_size)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = export_onnx(ck['path'], Path(tmp) / 'model.onnx') if any(SPECS[e][0] != 'torch' for e in engines) else None
        files = {e: onnx_file if SPECS[e][0] != 'torch' and SPECS[e][1] != 'int8' else ck['path'] for e in engines}   # int8: the model beside the .pth
        conv = {}
        rows = []
        for t in a.threads:
            torch.set_num_threads(t)
            conv[t] = {str(d).removeprefix('torch.'): conv_gflops(cfg.n_feats, cfg.out_size, d) for d in (torch.float32, torch.bfloat16) if d == torch.float32 or native_bf16()}
            rows += [profile(files[e], e, t, paths, a.bs, gflop_fwd, n_fwd) for e in engines]
    torch.set_num_threads(max(a.threads))
    res = dict(cpu=cpu_summary(), load_average_before=load, torch=torch.__version__,
               onnxruntime=importlib.import_module('onnxruntime').__version__ if 'onnxruntime' in engines else None,
               openvino=importlib.import_module('openvino').__version__ if any(SPECS[e][0] == 'openvino' for e in engines) else None,
               checkpoint=ck['path'].name, in_size=cfg.in_size, n_images=len(paths), data=str(a.data), bs=a.bs,
               gflop_per_forward=gflop_fwd, forwards_per_image=n_fwd, gflop_per_image=gflop_fwd * n_fwd,
               conv3x3_gflops={str(t): v for t, v in conv.items()}, conv3x3=f"{cfg.n_feats} -> {cfg.n_feats} channels, {cfg.out_size} px, batch 8, channels_last",
               rows=rows)
    print(f"{res['cpu']}; load average {load:.2f} before; {cfg.in_size} px, {gflop_fwd:.2f} GFLOP per forward pass, "
          f"{n_fwd} per image: {gflop_fwd * n_fwd:.2f} GFLOP per image")
    print('3x3 convolution GFLOP/s: ' + ', '.join(f"{g:.1f} in {d} on {t} thread{'s' * (t > 1)}" for t, v in conv.items() for d, g in v.items()))
    print(table(rows, len(paths)))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")
    return res

if __name__ == '__main__': main()
