"""MediaPipe's bundled pose landmarker vs. an mss_pose checkpoint: PCK@0.2 on the LSPET validation images and images/s.

mediapipe is not a dependency of the project, so it runs in its own venv and the comparison takes three steps:

    # once: a venv with mediapipe (its pose models ship inside the wheel)
    python -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.14 numpy scipy opencv-python-headless

    # 1. mediapipe predictions (mediapipe venv; needs numpy + opencv only, no torch, no mss_pose)
    OMP_NUM_THREADS=1 /tmp/mpvenv/bin/python benchmarks/vs_mediapipe.py --model mediapipe
    # 2. mss_pose predictions (project Python), then both rows scored by mss_pose.metrics
    OMP_NUM_THREADS=1 python benchmarks/vs_mediapipe.py --model mss_pose [--checkpoint runs/x/mss_pose.pth]
    # re-score saved predictions only; --preds LABEL=FILE adds any `mss_pose eval --out` JSON as a row
    python benchmarks/vs_mediapipe.py --score [--preds other=preds.json]

Data: `--data` (default ../shared/data/lspet beside the repository), the last `--n-valid` 1,000 images, im07001..im08000: the held-out
split of `mss_pose train/eval` (`split_records(read_lsp(data), 1000)[1]`). Step 1 picks the same files by name and
step 2 checks the names against the records.

Step 1, mediapipe: `mediapipe.solutions.pose.Pose(static_image_mode=True, model_complexity=1)` (the legacy solution,
defaults otherwise), one object for all images, each image read with cv2 and converted to RGB. Only the
complexity-1 model (pose_landmark_full.tflite) and the detector ship in the wheel; complexity 0 or 2 would be
downloaded, and the script refuses (it replaces mediapipe's download function by an error before building the graph).
The 33 BlazePose landmarks (normalised x, y times image width, height) are mapped to the 14 LSP joints; left/right are
the person's own in both (checked: on LSPET training images 1-200 the direct mapping is the closer one for 460 of
538 left/right pairs, the swapped one for 78). BlazePose has no neck and no head top, so two LSP joints are DERIVED:
  neck     = midpoint of the shoulders (landmarks 11, 12)
  head_top = E + HEAD_K * (E - S), E = midpoint of the ears (7, 8), S = shoulder midpoint, HEAD_K = 0.5: extrapolated
             from the shoulders through the ears; HEAD_K was picked among {0, .25, .5, .75, 1} on training images
             1-200 (head-top PCK .38, .70, .80, .76, .59), never on the validation images.
Because of this the table also reports the mean over the 12 limb joints (neck and head_top left out) for both rows.
Images where mediapipe finds no person count as misses for all their joints (their joints are written as null).
Joint scores are mediapipe's `visibility`; they play no part in PCK.

Step 2, mss_pose: `load_engine(--checkpoint)` (default: the shipped mss_pose/weights/mss_small_lsp.pth) and
`predict_paths` on the same files, whole image as the person box (and, for a model trained on joint boxes, a second
pass on the square around the first pass's confident joints), flip test on, 'dark' decoding, on `--device` (CPU by
default) with the torch engine of `--precision` (default auto: bf16 where the CPU computes it natively): what
`mss_pose eval --data DATA --subset valid` does. Both rows are then scored by the project's code
as `mss_pose eval` scores them: `joint_dists` + `torso_norm` (l_shoulder - r_hip) + `pck` at the threshold of
`pck_convention('lsp')` (PCK@0.2, the training metric's too); unlabelled joints and people without both torso joints
are left out.

Speed: images/s of the whole predict loop (image decode + crop/resize + inference + decoding to original pixels), one
process, after the model is built, over all images. mediapipe's TFLite/XNNPACK inference runs on 1 thread in its Linux
desktop build (the legacy API has no thread setting; the JSON has the measured process CPU time / wall time); mss_pose
runs with `torch.set_num_threads(--threads)`, 1 by default, so both rows use about one core. The CPU (name, AVX-512
BF16 / AMX flags, torch's kernel capability in step 2) and the load average are written next to every figure: on a
shared machine the images/s are only comparable when taken under the same load.

Writes benchmarks/results/vs_mediapipe_preds_{mediapipe,mss_pose}.json (raw predictions in original image pixels,
[x, y, score] per LSP joint) and benchmarks/results/vs_mediapipe.json, and prints markdown tables.
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / 'results'
DEFAULT_DATA = str(Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'lspet')   # ../shared beside the repo
LSP_JOINTS = ('r_ankle', 'r_knee', 'r_hip', 'l_hip', 'l_knee', 'l_ankle', 'r_wrist', 'r_elbow', 'r_shoulder',
              'l_shoulder', 'l_elbow', 'l_wrist', 'neck', 'head_top')
DERIVED = ('neck', 'head_top')
# BlazePose landmark of each of the first 12 LSP joints (person-centric left/right in both)
BLAZE_OF_LSP = (28, 26, 24, 23, 25, 27, 16, 14, 12, 11, 13, 15)
L_SHOULDER, R_SHOULDER, L_EAR, R_EAR = 11, 12, 7, 8
HEAD_K = 0.5
MEDIAPIPE_VERSION = '0.10.14'
MAPPING_NOTE = ("LSP joints 0-11 are BlazePose landmarks " + str(dict(zip(LSP_JOINTS, BLAZE_OF_LSP))) + "; DERIVED: "
                "neck = midpoint of the shoulders (11, 12); head_top = E + 0.5 * (E - S), E = midpoint of the ears (7, 8), "
                "S = shoulder midpoint (0.5 picked on LSPET training images 1-200)")

def preds_file(model: str) -> Path: return RESULTS / f'vs_mediapipe_preds_{model}.json'

def cpu_info() -> dict:
    "CPU name and the flags that decide native bf16, plus torch's kernel capability when torch is loaded."
    name, flags = platform.processor() or platform.machine(), set()
    try:
        txt = Path('/proc/cpuinfo').read_text()
        name = next((l.split(':', 1)[1].strip() for l in txt.splitlines() if l.startswith('model name')), name)
        flags = set(next((l.split(':', 1)[1].split() for l in txt.splitlines() if l.startswith('flags')), []))
    except OSError: pass
    info = dict(name=name, cores=os.cpu_count(), **{f: f in flags for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16')})
    if 'torch' in sys.modules:
        import torch
        info['torch_capability'] = torch.backends.cpu.get_cpu_capability()
    return info

def cpu_str(c: dict) -> str:
    bf16 = '+'.join(f for f in ('avx512_bf16', 'amx_bf16') if c.get(f)) or 'no native bf16'
    cap = c.get('torch_capability') or ('AVX512' if c.get('avx512f') else 'AVX2' if c.get('avx2') else 'no AVX2')
    return f"{c['name']}, {cap}, {bf16}"

def valid_images(data: Path, n_valid: int) -> list[Path]:
    "The last `n_valid` LSP images by name: the files of `split_records(read_lsp(data), n_valid)[1]`."
    imgs = sorted(p for p in (data / 'images').iterdir() if p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.bmp'))
    if len(imgs) < n_valid: raise SystemExit(f"{data / 'images'} has {len(imgs)} images, fewer than --n-valid {n_valid}")
    return imgs[len(imgs) - n_valid:]

def blazepose_to_lsp(lm: np.ndarray) -> np.ndarray:
    "(33, 3) BlazePose x, y (pixels), visibility -> (14, 3) LSP joints; neck and head_top derived."
    out = np.empty((14, 3), np.float64)
    out[:12] = lm[list(BLAZE_OF_LSP)]
    s = (lm[L_SHOULDER] + lm[R_SHOULDER]) / 2
    e = (lm[L_EAR] + lm[R_EAR]) / 2
    out[12] = s
    out[13, :2], out[13, 2] = e[:2] + HEAD_K * (e[:2] - s[:2]), e[2]
    return out

def _timing(n: int, wall: float, cpu: float, load0, extra: dict) -> dict:
    return dict(n_images=n, seconds=round(wall, 2), img_s=round(n / wall, 2), cpu_time_per_wall=round(cpu / wall, 2),
                loadavg_1min_start_end=[round(load0[0], 2), round(os.getloadavg()[0], 2)],
                omp_num_threads=os.environ.get('OMP_NUM_THREADS'), **extra)

def _write_preds(model: str, paths, joints, timing: dict, meta: dict, out) -> Path:
    out = Path(out) if out else preds_file(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = [dict(image=p.name, joints=None if j is None else np.round(np.asarray(j, np.float64), 2).tolist()) for p, j in zip(paths, joints)]
    out.write_text(json.dumps(dict(model=model, cpu=cpu_info(), timing=timing, **meta, predictions=entries)) + '\n')
    return out

# ---------------------------------------------------------------- step 1: mediapipe (its own venv)
def predict_mediapipe(a) -> Path:
    import cv2
    import mediapipe as mp
    from mediapipe.python.solutions import download_utils, pose as mp_pose
    if mp.__version__ != MEDIAPIPE_VERSION: print(f"warning: mediapipe {mp.__version__}, this benchmark is for {MEDIAPIPE_VERSION}")
    def no_download(path, *args, **kw): raise SystemExit(f"mediapipe wants to download {path}: not allowed; use --model-complexity 1")
    download_utils.download_oss_model = no_download                       # complexity 0/2 models are not in the wheel
    paths = valid_images(Path(a.data), a.n_valid)
    t = time.perf_counter()
    pose = mp_pose.Pose(static_image_mode=True, model_complexity=a.model_complexity)
    build = time.perf_counter() - t
    joints, load0 = [], os.getloadavg()
    t, c = time.perf_counter(), time.process_time()
    for p in paths:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None: raise SystemExit(f"could not read {p}")
        h, w = bgr.shape[:2]
        res = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if res.pose_landmarks is None: joints.append(None); continue
        lm = np.array([(l.x * w, l.y * h, l.visibility) for l in res.pose_landmarks.landmark])
        joints.append(blazepose_to_lsp(lm))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    threads = int(Path('/proc/self/status').read_text().split('Threads:')[1].split()[0]) if Path('/proc/self/status').exists() else None
    pose.close()
    timing = _timing(len(paths), wall, cpu, load0, dict(
        inference_threads='1 (XNNPACK default)', threads=f"mediapipe default: XNNPACK, 1 inference thread; {threads} process threads",
        build_seconds=round(build, 2)))
    n_miss = sum(j is None for j in joints)
    meta = dict(label=f'mediapipe {mp.__version__} pose (complexity {a.model_complexity})',
                settings=dict(api='mediapipe.solutions.pose.Pose', static_image_mode=True, model_complexity=a.model_complexity),
                n_no_detection=n_miss, derived_joints=list(DERIVED), mapping=MAPPING_NOTE)
    out = _write_preds('mediapipe', paths, joints, timing, meta, a.out)
    print(f"mediapipe: {len(paths)} images, {n_miss} without a detection, {timing['img_s']} img/s "
          f"({timing['threads']}; CPU time/wall {timing['cpu_time_per_wall']}; {cpu_str(cpu_info())}); wrote {out}")
    return out

# ---------------------------------------------------------------- step 2: mss_pose and scoring (project Python)
def _records(a):
    from mss_pose.readers import read_lsp, split_records
    return split_records(read_lsp(a.data), a.n_valid)[1]

def predict_mss(a) -> Path:
    import torch
    from mss_pose.inference import shipped_checkpoint
    from mss_pose.export import load_engine, predict_files
    torch.set_num_threads(a.threads)
    recs = _records(a)
    paths = [Path(r.image) for r in recs]
    if [p.name for p in paths] != [p.name for p in valid_images(Path(a.data), a.n_valid)]:
        raise SystemExit("the records' images are not the last --n-valid files by name")
    model = load_engine(a.checkpoint, a.engine, device=a.device, precision=a.precision)
    cfg = model.cfg
    load0 = os.getloadavg()
    t, c = time.perf_counter(), time.process_time()
    kps, scores = predict_files(model, paths, bs=a.bs, flip=True, device=a.device, num_workers=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    ck = str(a.checkpoint or shipped_checkpoint())
    timing = _timing(len(paths), wall, cpu, load0, dict(
        inference_threads=f'{torch.get_num_threads()} (torch)', threads=f"torch.set_num_threads({torch.get_num_threads()}), num_workers=0", device=a.device, engine=type(model).__name__,
        precision='int8' if getattr(model, 'info', {}).get('int8') else str(getattr(model, 'dtype', 'float32')).removeprefix('torch.'),
        batch=a.bs))
    meta = dict(label=f'mss_pose {Path(ck).name} ({cfg.in_size}px, flip)', checkpoint=ck,
                settings=dict(box='whole image' + (', then its joints\' box' if cfg.person_pad else ''), flip=True, decode='dark', in_size=cfg.in_size), n_no_detection=0)
    out = _write_preds('mss_pose', paths, np.concatenate([kps, scores[..., None]], -1), timing, meta, a.out)
    print(f"mss_pose: {len(paths)} images, {timing['img_s']} img/s ({timing['threads']}; CPU time/wall "
          f"{timing['cpu_time_per_wall']}; {cpu_str(cpu_info())}); wrote {out}")
    return out

def _load_preds(path: Path, label: str | None) -> dict:
    "A predictions file of this script, or the list written by `mss_pose eval --out`."
    d = json.loads(Path(path).read_text())
    if isinstance(d, list): d = dict(model=label or Path(path).stem, label=label or Path(path).stem, predictions=d, source=str(path))
    if label: d['label'] = label
    return d

def score_preds(d: dict, recs, js, thr: float) -> dict:
    "PCK of one predictions file with the project's metrics, as `mss_pose eval` computes it."
    import torch
    from mss_pose.metrics import joint_dists, torso_norm, pck, pck_table
    by_name = {e['image']: e['joints'] for e in d['predictions']}
    if missing := [Path(r.image).name for r in recs if Path(r.image).name not in by_name]:
        raise SystemExit(f"{d['label']}: no prediction for {len(missing)} of {len(recs)} images, e.g. {missing[:3]}")
    pred = np.full((len(recs), js.J, 2), np.nan)
    for i, r in enumerate(recs):
        j = by_name[Path(r.image).name]
        if j is not None: pred[i] = np.asarray(j, np.float64)[:, :2]     # None: no detection -> NaN -> miss
    gt = torch.from_numpy(np.stack([r.kps for r in recs])).double()
    w = torch.from_numpy(np.stack([r.vis for r in recs]) > 0).float()
    dists = joint_dists(torch.from_numpy(pred), gt, w, torso_norm(gt, w, js))
    per_joint, mean = pck(dists, thr, js)
    _, limb = pck(dists, thr, js, exclude=DERIVED)
    merged = pck_table(per_joint, js, mean)
    n_miss = sum(by_name[Path(r.image).name] is None for r in recs)
    return dict(model=d['model'], label=d['label'], pck=round(float(mean), 4), pck_limbs12=round(float(limb), 4),
                per_joint={n: round(float(v), 4) for n, v in zip(js.joints, per_joint)},
                merged={k: round(v, 4) for k, v in zip(merged[0][1:-1], merged[1][1:-1])},
                n_images=len(recs), n_people_evaluated=int((~dists.isnan()).any(1).sum()),
                n_joints_evaluated=int((~dists.isnan()).sum()), n_no_detection=n_miss,
                derived_joints=d.get('derived_joints', []), **{k: d[k] for k in ('timing', 'cpu', 'settings', 'checkpoint', 'mapping', 'source') if k in d})

def _md(header, rows) -> str:
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] + ['| ' + ' | '.join(map(str, r)) + ' |' for r in rows])

def score(a, extra: list[str]) -> dict:
    from mss_pose.skeleton import get_joint_set
    from mss_pose.metrics import pck_convention
    js = get_joint_set('lsp')
    m = pck_convention(js)
    if m.norm != 'torso': raise SystemExit(f"pck_convention('lsp') is {m.norm}-normalised; this script scores torso PCK")
    recs = _records(a)
    files = [(None, preds_file(k)) for k in ('mediapipe', 'mss_pose') if preds_file(k).exists()]
    for it in extra:
        lab, eq, f = it.partition('=')
        files.append((lab, Path(f)) if eq else (None, Path(it)))
    if not files: raise SystemExit("no predictions to score: run --model mediapipe and --model mss_pose first")
    rows = [score_preds(_load_preds(f, lab), recs, js, m.thr) for lab, f in files]
    names = [Path(r.image).name for r in recs]
    res = dict(benchmark='mediapipe vs mss_pose on LSPET validation', data=str(a.data), images=f'{names[0]}..{names[-1]}',
               n_images=len(recs), metric=f'PCK@{m.thr} (torso = l_shoulder - r_hip), mss_pose.metrics as in `mss_pose eval`',
               mean_note="'pck': all 14 LSP joints; 'pck_limbs12': neck and head_top left out (they are derived for mediapipe)",
               derived_joints_note=f'mediapipe has no neck or head top: {MAPPING_NOTE}', rows=rows)
    out = Path(a.json); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    pct = lambda v: '-' if v is None or v != v else f'{100 * v:.1f}'
    speed = lambda r: (f"{r['timing']['img_s']:.1f}" if 'timing' in r else '-')
    thr = lambda r: r.get('timing', {}).get('inference_threads', '-')
    cpu = lambda r: (cpu_str(r['cpu']) if 'cpu' in r else '-')
    mcols = list(rows[0]['merged'])
    print(f"\nPCK@{m.thr} on LSPET {res['images']} ({len(recs)} images); neck/head_top of mediapipe are derived (see JSON)\n")
    print(_md(['model'] + mcols + ['Mean (14)', 'Mean (12 limbs)', 'img/s', 'threads', 'CPU', 'no detection'],
              [[r['label']] + [pct(r['merged'][c]) for c in mcols] + [pct(r['pck']), pct(r['pck_limbs12']), speed(r), thr(r), cpu(r), r['n_no_detection']]
               for r in rows]))
    print()
    print(_md(['model'] + [n + ('*' if n in DERIVED else '') for n in js.joints],
              [[r['label']] + [pct(r['per_joint'][n]) for n in js.joints] for r in rows]))
    print("\n* derived for mediapipe (no such BlazePose landmark)")
    print(f"wrote {out}")
    return res

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--model', choices=['mediapipe', 'mss_pose'], help='predict with this model (mediapipe: in its venv; mss_pose: then score)')
    g.add_argument('--score', action='store_true', help='only score the saved predictions')
    p.add_argument('--data', default=DEFAULT_DATA, help='LSPET folder (joints.mat, images/)')
    p.add_argument('--n-valid', type=int, default=1000, help='the last N images (default 1000: im07001..im08000)')
    p.add_argument('--model-complexity', type=int, default=1, choices=[0, 1, 2], help='mediapipe model; only 1 ships in the wheel')
    p.add_argument('--checkpoint', default=None, help='mss_pose checkpoint (default: the shipped one)')
    p.add_argument('--threads', type=int, default=1, help='torch threads for mss_pose')
    p.add_argument('--device', default='cpu', help='device for mss_pose')
    p.add_argument('--engine', default=None, choices=['torch', 'onnxruntime', 'openvino'], help="mss_pose's engine, as `mss_pose eval --engine` (default: its default)")
    p.add_argument('--precision', default='auto', choices=['auto', 'fp32', 'bf16', 'int8'], help="mss_pose's precision, as `mss_pose eval --precision`")
    p.add_argument('--bs', type=int, default=16, help='mss_pose batch size (as `mss_pose eval`)')
    p.add_argument('--preds', nargs='+', default=[], metavar='[LABEL=]FILE', help='more predictions to score (e.g. `mss_pose eval --out` JSON)')
    p.add_argument('--out', default=None, help='predictions file (default: results/vs_mediapipe_preds_MODEL.json)')
    p.add_argument('--json', default=str(RESULTS / 'vs_mediapipe.json'), help='results file')
    a = p.parse_args(argv)
    if a.model == 'mediapipe': return predict_mediapipe(a)
    if a.model == 'mss_pose': predict_mss(a)
    return score(a, a.preds)

if __name__ == '__main__': main()
