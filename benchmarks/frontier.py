"""Speed against accuracy of prediction: PCK on the 1,000 LSPET validation images against images/s, for each engine and pass setting, with mediapipe as a point.

    python benchmarks/frontier.py pck        # PCK of every setting on LSPET 7,001-8,000 (any load: only keypoints are kept)
    python benchmarks/frontier.py speed      # images/s of every setting on the last 200 of them, on 1 and 2 threads (a quiet machine)
    python benchmarks/frontier.py plot       # benchmarks/results/frontier.png and a markdown table, from frontier.json

A setting is an engine (`mss_pose.export.load_engine`) and the passes of `mss_pose.export.predict_files` (`predict_paths` on torch, numpy on a graph engine):
the default is two passes (the whole image, then the square around its joints), each with the flip test. `pck` writes
each setting's PCK@0.2 over all 14 joints and over the 12 limb joints (neck and head top left out: mediapipe has no
such landmark, so its two are derived), `speed` its images/s: the predict loop over the images (decoding, cropping,
the network, heatmap decoding, mapping back), one process, after the engine is loaded and warmed up on 16 images;
start-up is `benchmarks/cli_speed.py`'s. mediapipe's images/s is its loop in `benchmarks/vs_mediapipe.py` on the same
200 images (its venv: `--mediapipe-python`, default /tmp/mpvenv/bin/python; 1 inference thread whatever the machine
has), its PCK the `mediapipe` row of benchmarks/results/vs_mediapipe.json (the same 1,000 images, the same PCK code).

Pass settings run on the default engine, OpenVINO (`precision='auto'`: bf16 where the CPU computes it natively, else
fp32), except a first pass at 128 px, which only torch runs (the exported graph's input size is fixed); the JSON
records which. Results go to benchmarks/results/frontier.json, one entry per setting, merged across
the three steps.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
warnings.filterwarnings('ignore', r'`torch\.jit\.script` is deprecated', FutureWarning)
from mss_pose.export import load_engine
from mss_pose.export import predict_files
from mss_pose.images import refine_boxes
from mss_pose.model import native_bf16

ROOT = Path(__file__).resolve().parents[1]
LSPET = ROOT / '..' / 'shared' / 'data' / 'lspet'
RESULTS = ROOT / 'benchmarks' / 'results'
DEFAULT = 'default: openvino auto (int8), two passes, flip'
SETTINGS = {   # name: (load_engine arguments, predict_files arguments, passes)
    'before: MSSNet fp32, two passes, flip': (dict(engine='torch', precision=None), {}, 2),
    'torch fp32 engine, two passes, flip': (dict(engine='torch', precision='fp32'), {}, 2),
    'torch auto, two passes, flip': (dict(engine='torch'), {}, 2),
    'onnxruntime fp32, two passes, flip': (dict(engine='onnxruntime'), {}, 2),
    'openvino fp32, two passes, flip': (dict(engine='openvino', precision='fp32'), {}, 2),
    'openvino bf16, two passes, flip': (dict(engine='openvino', precision='bf16'), {}, 2),
    DEFAULT: (dict(engine='openvino'), {}, 2),
    'first pass unflipped': (dict(engine='openvino'), dict(first_flip=False), 2),
    'no flip': (dict(engine='openvino'), dict(flip=False), 2),
    'first pass 128 px unflipped (torch)': (dict(engine='torch'), dict(first_flip=False, first_size=128), 2),
    'first pass 128 px, no flip (torch)': (dict(engine='torch'), dict(flip=False, first_size=128), 2),
    'three passes, flip': (dict(engine='openvino'), {}, 3),
    'one pass (whole image), flip': (dict(engine='openvino'), {}, 1),
}

def valid_records(data: Path):
    from mss_pose.cli import read_records
    from mss_pose.readers import split_records
    return split_records(read_records(data), 1000)[1]

def engine(name: str):
    "The engine of one setting on the shipped checkpoint (the graph engines take torch's thread count when they are built)."
    return load_engine(None, device='cpu', **SETTINGS[name][0])

def precision(model) -> str:
    "What an engine computes in: int8 (a quantised OpenVINO model), or the dtype of its weights."
    if hasattr(model, 'precision'): return {'fp32': 'float32', 'bf16': 'bfloat16'}.get(model.precision, model.precision)   # a graph engine
    return str(getattr(model, 'dtype', torch.float32)).removeprefix('torch.')

def keypoints(model, name: str, paths):
    "(N, J, 2) keypoints and (N, J) scores of one setting's passes on `paths`, on its engine `model`."
    _, kw, passes = SETTINGS[name]
    if passes == 1: return predict_files(model, paths, refine=False, **kw)
    k, s = predict_files(model, paths, **kw)
    if passes == 3: k, s = predict_files(model, paths, boxes=refine_boxes(k, s, model.cfg.person_pad), flip=kw.get('flip', True))
    return k, s

def score(recs, kps) -> dict:
    from mss_pose.metrics import pck, record_dists
    d = record_dists(recs, kps)
    return dict(pck=round(float(pck(d, 0.2, 'lsp')[1]), 4), pck_limbs12=round(float(pck(d, 0.2, 'lsp', exclude=('neck', 'head_top'))[1]), 4))

def timed(name: str, paths, threads: int) -> float:
    "Images/s of one setting's predict loop on `paths` with `threads` threads, after a warm-up."
    torch.set_num_threads(threads)
    model = engine(name)                                                    # loading is start-up, not the loop: not timed
    keypoints(model, name, paths[:16])                                      # warm-up (and a check that it runs)
    t = time.perf_counter(); keypoints(model, name, paths)
    return round(len(paths) / (time.perf_counter() - t), 2)

def mediapipe_img_s(python: str, paths) -> float:
    "mediapipe's loop images/s on `paths`, by vs_mediapipe.py in mediapipe's own venv."
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / 'images').mkdir()
        for p in paths: (Path(d) / 'images' / p.name).symlink_to(Path(p).resolve())
        subprocess.run([python, str(ROOT / 'benchmarks' / 'vs_mediapipe.py'), '--model', 'mediapipe', '--data', d, '--n-valid', str(len(paths)),
                        '--out', str(Path(d) / 'mp.json')], check=True, capture_output=True)
        return json.loads((Path(d) / 'mp.json').read_text())['timing']['img_s']

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('what', choices=['pck', 'speed', 'plot'])
    p.add_argument('--data', type=Path, default=LSPET)
    p.add_argument('--settings', nargs='+', default=list(SETTINGS), choices=list(SETTINGS), metavar='NAME')
    p.add_argument('--images', type=int, default=200, help='speed: the last N validation images')
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--mediapipe-python', default='/tmp/mpvenv/bin/python')
    p.add_argument('--out', type=Path, default=RESULTS / 'frontier.json')
    a = p.parse_args(argv)
    res = json.loads(a.out.read_text()) if a.out.exists() else dict(settings={})
    if a.what == 'plot': return plot(res, a.out.with_suffix('.png'))
    from mss_pose.learner import cpu_summary
    recs = valid_records(a.data)
    paths = [r.image for r in recs] if a.what == 'pck' else [r.image for r in recs][-a.images:]
    for name in a.settings:
        row = res['settings'].setdefault(name, {})
        eng, kw, passes = SETTINGS[name]
        torch.set_num_threads(max(a.threads))
        row['setting'] = dict(**eng, **kw, passes=passes, dtype=precision(model := engine(name)))
        if a.what == 'pck': row.update(score(recs, keypoints(model, name, paths)[0]))
        else: row['img_s'] = {str(t): timed(name, paths, t) for t in a.threads}
        print(name, json.dumps({k: v for k, v in row.items() if k != 'setting'}), flush=True)
    if a.what == 'speed':
        res['mediapipe'] = dict(img_s=mediapipe_img_s(a.mediapipe_python, paths), threads='1 inference thread (XNNPACK default), any --threads')
        res['speed'] = dict(cpu=cpu_summary(), native_bf16=native_bf16(), n_images=len(paths), threads=a.threads,
                            load_average=os.getloadavg()[0], torch=torch.__version__)
        print('mediapipe', res['mediapipe'])
    else: res['pck'] = dict(n_images=len(recs), metric='PCK@0.2 (torso), mss_pose.metrics; pck_limbs12 leaves out neck and head_top')
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1) + '\n')

def plot(res: dict, png: Path):
    "PCK on the 12 limb joints against images/s, one panel per thread count; a markdown table on stdout."
    import matplotlib, matplotlib.ticker; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    mp = json.loads((RESULTS / 'vs_mediapipe.json').read_text())
    mp_row = next(r for r in mp['rows'] if r['model'] == 'mediapipe')
    rows = {k: v for k, v in res['settings'].items() if 'img_s' in v and 'pck' in v}
    threads = res['speed']['threads']
    fig, axs = plt.subplots(1, len(threads), figsize=(6.5 * len(threads), 5), sharey=True, squeeze=False)
    for ax, t in zip(axs[0], threads):
        for k, (name, r) in enumerate(rows.items()):                     # a colour and marker per setting, named in the legend
            ax.scatter(r['img_s'][str(t)], 100 * r['pck_limbs12'], color=f'C{k % 10}', marker='*' if name == DEFAULT else 'oD'[k // 10],
                       s=160 if name == DEFAULT else 45, zorder=3, label=name)
        ax.scatter(res['mediapipe']['img_s'], 100 * mp_row['pck_limbs12'], c='k', marker='s', s=45, zorder=3, label='mediapipe 0.10.14 (1 thread)')
        ax.set(xlabel=f'images/s of the predict loop, {t} thread{"s" * (t > 1)}', title=f'{t} thread{"s" * (t > 1)}', xscale='log')
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter()); ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([t for t in (5, 10, 20, 50, 100, 200) if t < 1.3 * max(r['img_s'][str(t_)] for r in rows.values() for t_ in threads)])
        ax.grid(alpha=0.3)
    axs[0][0].set_ylabel('PCK@0.2, 12 limb joints (LSPET 7,001-8,000)')
    axs[0][-1].legend(fontsize=7, loc='lower left')
    fig.suptitle(f"Prediction: accuracy against speed ({res['speed']['cpu']})", fontsize=9)
    fig.tight_layout(); fig.savefig(png, dpi=110)
    print('| setting | PCK (14) | PCK (12 limbs) | ' + ' | '.join(f'img/s, {t} thr' for t in threads) + ' |')
    print('|---|---|---|' + '---|' * len(threads))
    for name, r in rows.items():
        print(f"| {name} | {100 * r['pck']:.1f} | {100 * r['pck_limbs12']:.1f} | " + ' | '.join(f"{r['img_s'][str(t)]:.1f}" for t in threads) + ' |')
    print(f"| mediapipe 0.10.14 | {100 * mp_row['pck']:.1f} | {100 * mp_row['pck_limbs12']:.1f} | " + ' | '.join(f"{res['mediapipe']['img_s']:.1f}" for t in threads) + ' |')
    print(f"wrote {png}")

if __name__ == '__main__': main()
