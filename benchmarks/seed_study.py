"""The multi-seed ablation of MSS-Net's parts and the keypoint-masking fine-tunes: each run is `mss_pose` commands.

    python benchmarks/seed_study.py plan                     # the runs, in order, and which are done
    python benchmarks/seed_study.py run --jobs 2             # every run not done, two at a time (one thread each)
    python benchmarks/seed_study.py run mss-s3 hourglass-s3  # named runs
    python benchmarks/seed_study.py command mss-s1           # the commands that rerun one run
    python benchmarks/seed_study.py swaps                    # add swap rates to recorded runs whose predictions are here
    python benchmarks/seed_study.py occlusion-set            # build the occluded validation images the fine-tunes are scored on

The proxy budget (`PROXY`): the `small` preset at 128 px (32 px heatmaps), joint-box crops (`person_pad=1.4`) with the
whole image in 30% of them (`whole_p=0.3`: what the first prediction pass sees), 10 epochs of LSPET images 1-7,000
(6,992 a epoch: 437 batches of 16), one one-cycle schedule peaking at 2e-3 with a fifth warming up, no keypoint
masking (a fine-tuning step, measured on its own by the occlusion benchmark), bf16 autocast where the CPU computes it
natively, fp32 elsewhere (`--amp auto`). The shipped model's recipe at a tenth of its epochs and 128 px.

Each run trains into `docs/ablation/seeds/runs/NAME/` (not committed: weights), resumes there after a kill (`--resume`),
scores its final weights (`models/last.pth`, not the best epoch: no choice made on the validation images) with
`mss_pose eval --subset valid --engine torch` on LSPET 7,001-8,000 (the torch engine, bf16 where the CPU computes it
natively: the default when the study began; OpenVINO is the default now), and adds one entry to `docs/ablation/seeds/results.json`
with its history copied to `docs/ablation/seeds/NAME.csv`. A run already in results.json is never run again.

The masking fine-tunes (`ft-mask-sN`, `ft-plain-sN`) start from `mss-sN`'s final weights and train 2 more epochs at a
peak of 5e-4, with keypoint masking (`--finetune-epochs 2`, masking probability `cfg.mask_p` = 0.5) or without
(`--epochs 2`), the same seed, images and schedule otherwise. Each is scored on the clean validation images and on
their occluded copy (`mss_pose.occlusion.build_occlusion_set`, seed 0, built once into `data/occlusion/`), into
`docs/occlusion/results.json`, with the plan and each fine-tune's predictions on the occluded images beside it.
"""
from __future__ import annotations
import argparse, fcntl, json, os, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'docs' / 'ablation' / 'seeds'
DATA = os.environ.get('MSS_DATA', '../shared/data/lspet')
PROXY = ['--set', 'person_pad=1.4', '--aug', 'whole_p=0.3', '--epochs', '10', '--lr', '2e-3', '--pct-start', '0.2',
         '--bs', '16', '--workers', '0']
VARIANTS = {   # name: (extra `mss_pose train` flags, what it tests)
    'hourglass':   (['--baseline'], "Newell's stacked hourglass: every MSS part off"),
    'mss':         (['--set', 'structure=sum'], "MSS-Net: multi-scale supervision, regression network, structure-aware loss ('sum', alpha=1)"),
    'mss-mean':    (['--set', 'structure=mean'], "MSS-Net with the 'mean' reading of the structure-aware loss"),
    'mss-mse':     (['--set', 'alpha=0'], "MSS-Net with plain heatmap MSE: the structure-aware loss left out"),
    'mss-diff':    (['--set', 'structure=diff'], "MSS-Net with our 'diff' reading, which charges a swap of neighbours more than plain MSE"),
    'mss-no-ms':   (['--set', 'ms_supervision=false', 'structure=sum'], "MSS-Net without multi-scale supervision (finest scale only)"),
    'mss-no-reg':  (['--set', 'regression=false', 'structure=sum'], "MSS-Net without the regression network"),
}   # 'structure=sum' is named since 'diff' became MSSConfig's default (after seeds 0-1 of the structure readings); the runs
    # recorded before trained 'sum' as the default then, the same setting
FT = {'ft-mask': ['--epochs', '0', '--finetune-epochs', '2'], 'ft-plain': ['--epochs', '2', '--finetune-epochs', '0']}
FT_FLAGS = ['--set', 'person_pad=1.4', '--aug', 'whole_p=0.3', '--lr', '5e-4', '--pct-start', '0.2', '--bs', '16', '--workers', '0']
OCC, OCC_OUT = ROOT / 'data' / 'occlusion' / 'lspet-valid-s0', ROOT / 'docs' / 'occlusion'
MAIN = ('hourglass', 'mss', 'ft-mask', 'ft-plain')
PLAN = ['hourglass-s0', 'mss-s0'] + [f'{v}-s{s}' for s in (1, 2) for v in MAIN] + \
       [f'{v}-s{s}' for s in (0, 1) for v in ('mss-mean', 'mss-mse', 'mss-diff', 'mss-no-ms', 'mss-no-reg')] + \
       [f'{v}-s3' for v in MAIN] + \
       ['mss-diff-s2', 'mss-mean-s2']   # the order they run in. Seed 0's fine-tunes are left out: mss-s0's weights are gone
    # (a run folder is not committed), so the third masking seed is seed 3. The last two: a third seed for the two best
    # structure readings, whose gap (0.8 +- 0.5 with two seeds) decided the default
_lock = threading.Lock()


def split(name: str) -> tuple[str, int]:
    "'mss-no-ms-s1' -> ('mss-no-ms', 1)."
    v, _, s = name.rpartition('-s')
    if (v not in VARIANTS and v not in FT) or not s.isdigit():
        raise SystemExit(f"seed_study: unknown run {name!r}; runs are VARIANT-sSEED, variants {[*VARIANTS, *FT]}")
    return v, int(s)


def needs(name: str) -> str | None:
    "The run whose final weights a fine-tune starts from."
    v, seed = split(name)
    return f'mss-s{seed}' if v in FT else None


def start_weights(name: str) -> Path:
    "The final weights a fine-tune starts from (a run folder: gone in a fresh checkout, so its run must be trained again)."
    return OUT / 'runs' / needs(name) / 'models' / 'last.pth'


def commands(name: str) -> list[list[str]]:
    "The `mss_pose train` command of one run, then its `mss_pose eval` commands."
    v, seed = split(name)
    run, last = OUT / 'runs' / name, OUT / 'runs' / name / 'models' / 'last.pth'
    flags = [*FT_FLAGS, *FT[v], '--init', str(start_weights(name))] if v in FT else [*PROXY, *VARIANTS[v][0]]
    train = ['mss_pose', 'train', '--data', DATA, *flags, '--seed', str(seed), '--out', str(run)]
    eng = ['--engine', 'torch']                                  # the engine every recorded run was scored on (bf16 where native)
    ev = [['mss_pose', 'eval', '--data', DATA, '--subset', 'valid', '--checkpoint', str(last), *eng, '--out', str(run / 'eval.json')]]
    if v in FT: ev.append(['mss_pose', 'eval', '--data', str(OCC), '--checkpoint', str(last), *eng, '--out', str(run / 'eval_occluded.json')])
    return [[os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in c] for c in (train, *ev)]


def results_file(name: str) -> Path: return (OCC_OUT if split(name)[0] in FT else OUT) / 'results.json'


def results(f: Path) -> dict:
    return json.loads(f.read_text()) if f.exists() else {'protocol': protocol(f), 'runs': []}


@contextmanager
def updating(f: Path):
    "The results file `f`, read under a lock (one writer, also across drivers) and written whole, protocol renewed, on exit."
    f.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(f.with_name('.results.lock'), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        r = results(f)
        yield r
        r['protocol'] = protocol(f)
        tmp = f.with_name(f.name + '.tmp')
        tmp.write_text(json.dumps(r, indent=1)); os.replace(tmp, f)


def protocol(f: Path) -> dict:
    "What every run of the study in `f` shares."
    common = dict(data='LSPET: train on images 1-7,000, score on 7,001-8,000', threads_per_run=1,
                  weights='final epoch (models/last.pth)', threshold='PCK@0.2 (torso)')
    if f.parent == OCC_OUT:
        return dict(common, start="each seed's `mss` run of docs/ablation/seeds, final weights", finetune=' '.join(FT_FLAGS),
                    epochs=2, masking="--finetune-epochs 2: KeypointMask at cfg.mask_p=0.5 in both epochs; without: --epochs 2",
                    benchmark='mss_pose.occlusion.build_occlusion_set(LSPET 7,001-8,000, seed=0): one occluder per image',
                    pck_occluded='joints an occluder hides', pck_unoccluded='the other labelled joints of the occluded images',
                    pck_clean='mss_pose eval --subset valid on the original images')
    return dict(common, threads_per_run='1 (hourglass-s2 trained on 2, alone: its images_per_s is not comparable)',
                proxy=' '.join(PROXY), preset='small', in_size=128, epochs=10, images_per_epoch=6992,
                pck_eval='mss_pose eval --subset valid --engine torch: whole images, two passes, flip test, original pixels',
                pck_crops="the learner's PCK@0.2 on the 1,000 validation joint-box crops after the last epoch (no flip, crop pixels)",
                images_per_s='training images per second of wall time (validation included), one thread, other jobs sharing the 2 cores; '
                             'time the run was frozen for timing other work (paused_s) left out',
                swaps_limbs='mss_pose.study.swap_rate of the eval predictions over the limbs (neighbour pairs): both joints missed, '
                            'each nearer the other\'s label (runs scored before it was recorded lack it: their predictions are gone)',
                swaps_mirror='the same over the left/right pairs (JointSet.flip_pairs)',
                variants={k: v[1] for k, v in VARIANTS.items()})


def valid_records(data=None) -> list:
    from mss_pose.cli import read_records, default_n_valid
    from mss_pose.readers import split_records
    recs = read_records(data or DATA)
    return split_records(recs, default_n_valid(len(recs)))[1] if data is None else recs


def predicted(recs, preds: Path):
    "(N, J, 2) predictions of `preds` (an `mss_pose eval` JSON) for `recs`, by image name."
    by = {p['image']: p['joints'] for p in json.loads(preds.read_text())['predictions']}
    return [[j[:2] for j in by[r.image.name]] for r in recs]


def swaps(recs, preds: Path) -> dict:
    "How often the predictions of an `mss_pose eval` JSON swap neighbours and left/right joints (`mss_pose.study.swap_rate`)."
    import numpy as np
    from mss_pose.metrics import record_dists
    from mss_pose.skeleton import get_joint_set
    from mss_pose.study import swap_rate
    kps, js = np.array(predicted(recs, preds)), get_joint_set(recs[0].joint_set)      # (N, J, 2) original pixels
    gt, d = np.stack([r.kps for r in recs]), record_dists(recs, kps).numpy()          # (N, J, 2); (N, J) torso units
    return {f'swaps_{k}': round(swap_rate(gt, kps, d, pairs), 4) for k, pairs in (('limbs', js.limbs), ('mirror', js.flip_pairs))}


def add_swaps() -> list[str]:
    "Add swap rates to the recorded ablation runs that lack them and whose predictions (of the recorded score) are still here."
    f, val, new = OUT / 'results.json', valid_records(), {}
    for e in results(f)['runs']:
        p = OUT / 'runs' / f"{e['variant']}-s{e['seed']}" / 'eval.json'
        if 'swaps_limbs' not in e and p.exists() and round(eval_pck(val, p), 4) == e['pck_eval']: new[key(e)] = swaps(val, p)
    if new:
        with updating(f) as r:
            for e in r['runs']: e.update(new.get(key(e), {}))
    return [f"{v}-s{seed}" for v, _, seed in new]


def eval_pck(recs, preds: Path) -> float:
    "Mean PCK@0.2 of an `mss_pose eval` JSON against `recs`, as `mss_pose eval` prints it."
    from mss_pose.metrics import record_dists, pck
    return float(pck(record_dists(recs, predicted(recs, preds)), 0.2, recs[0].joint_set)[1])


def config_error(name: str) -> str | None:
    "Why a trained run's saved config lacks one of its command's `--set` values (a `--set` group once replaced the ones before it)."
    from mss_pose.cli import parse_overrides
    from mss_pose.model import MSSConfig
    sets, flag = [], None
    for x in commands(name)[0]:
        if x.startswith('--'): flag = x
        elif flag == '--set': sets.append(x)
    cfg = json.loads((OUT / 'runs' / name / 'run.json').read_text())['cfg']
    if bad := {k: v for k, v in parse_overrides(sets, MSSConfig).items() if cfg.get(k) != v}:
        return (f"seed_study: {name} was trained with {', '.join(f'{k}={cfg.get(k)!r}' for k in bad)}, its command sets "
                f"{', '.join(f'{k}={v!r}' for k, v in bad.items())}: delete runs/{name} and run it again")


def entry(name: str) -> dict:
    "The results entry of a finished run."
    import csv
    v, seed = split(name)
    run = OUT / 'runs' / name
    hist = list(csv.DictReader((run / 'models' / 'history.csv').open()))
    res, val = json.loads((run / 'results.json').read_text()), valid_records()
    cmd = ' '.join(commands(name)[0])
    if v in FT:
        from mss_pose.occlusion import occlusion_pck
        plan = json.loads((OCC / 'occlusion.json').read_text())['plan']
        occ = occlusion_pck(val, predicted(val, run / 'eval_occluded.json'), plan)
        return dict(seed=seed, masking=v == 'ft-mask', pck_occluded=round(occ['pck_occluded'], 4),
                    pck_unoccluded=round(occ['pck_unoccluded'], 4), pck_clean=round(eval_pck(val, run / 'eval.json'), 4),
                    n_occluded=occ['n_occluded'], epochs=len(hist), cpu=res['cpu'], command=cmd)
    secs = sum(sum(int(x) * 60 ** i for i, x in enumerate(reversed(r['time'].split(':')))) for r in hist)
    per_epoch, paused = res['n_train'] // 16 * 16, paused_seconds(run)
    return dict(variant=v, seed=seed, pck_eval=round(eval_pck(val, run / 'eval.json'), 4), pck_crops=round(float(hist[-1]['pck@0.2']), 4),
                **swaps(val, run / 'eval.json'),
                epochs=len(hist), images_per_epoch=per_epoch, cpu=res['cpu'], images_per_s=round(len(hist) * per_epoch / (secs - paused), 1),
                amp=res['amp'], command=cmd, **({'paused_s': round(paused)} if paused else {}))


def paused_seconds(run: Path) -> float:
    "Seconds the run's training was frozen for timing other work: lines 'START END' (epoch seconds) of runs/pauses.txt."
    f = OUT / 'runs' / 'pauses.txt'
    if not f.exists(): return 0.
    t0, t1 = (run / 'run.json').stat().st_mtime, (run / 'models' / 'history.csv').stat().st_mtime
    return sum(max(0., min(b, t1) - max(a, t0)) for a, b in (map(float, l.split()) for l in f.read_text().splitlines() if l.strip()))


def key(e: dict) -> tuple: return (e.get('variant'), e.get('masking'), e['seed'])


def record(name: str):
    "Add a finished run to its results file, and its history beside it as NAME.csv."
    e, f = entry(name), results_file(name)
    with updating(f) as r:
        r['runs'] = [x for x in r['runs'] if key(x) != key(e)] + [e]
        (f.parent / f'{name}.csv').write_text((OUT / 'runs' / name / 'models' / 'history.csv').read_text())
        if 'masking' in e:                                                 # the predictions and the plan, for 08_masking's example
            (f.parent / f'{name}_occluded.json').write_text((OUT / 'runs' / name / 'eval_occluded.json').read_text())
            (f.parent / 'occlusion.json').write_text((OCC / 'occlusion.json').read_text())
    print(f"seed_study: {name}: {json.dumps({k: v for k, v in e.items() if k.startswith('pck')})}", flush=True)


def done() -> set[str]:
    names = {f"{r['variant']}-s{r['seed']}" for r in results(OUT / 'results.json')['runs']}
    return names | {f"ft-{'mask' if r['masking'] else 'plain'}-s{r['seed']}" for r in results(OCC_OUT / 'results.json')['runs']}


def occlusion_set() -> Path:
    "The occluded validation images the fine-tunes are scored on, built once (seed 0) into data/occlusion/."
    with _lock:
        if not OCC.exists():
            from mss_pose.occlusion import build_occlusion_set
            build_occlusion_set(valid_records(), OCC, seed=0)
    return OCC


def run_one(name: str) -> bool:
    "Train (or resume) one run, score it and record it; the log goes to runs/NAME.log. False if a command failed."
    run, env = OUT / 'runs' / name, {**os.environ, 'OMP_NUM_THREADS': '1'}
    train, *evals = commands(name)
    if (run / 'models' / 'last.pth').exists(): train = train[:2] + ['--resume', '--out', train[-1]]
    if split(name)[0] in FT: occlusion_set()
    run.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT / 'runs' / f'{name}.log', 'a') as log:
        for cmd in ([] if (run / 'results.json').exists() else [train]) + evals:
            print(f"seed_study: {name}: {' '.join(cmd)}", flush=True)
            if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode:
                print(f"seed_study: {name} failed; see {log.name}", flush=True); return False
            if cmd is train and (err := config_error(name)): print(err, flush=True); return False   # before its evals
    if err := config_error(name): print(err, flush=True); return False
    record(name); return True


def worker(todo: list[str], busy: set[str], failed: set[str]):
    "Run the first runnable name of `todo` (its start weights done), until none is left."
    while True:
        with _lock:
            ready = [n for n in todo if n not in busy and (needs(n) is None or needs(n) in done() and start_weights(n).exists())]
            if not ready and not busy & set(map(needs, todo)): return
            if ready: todo.remove(name := ready[0]); busy.add(name)
        if not ready: time.sleep(30); continue
        if not run_one(name): failed.add(name)
        with _lock: busy.discard(name)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('what', choices=['plan', 'run', 'command', 'swaps', 'occlusion-set'])
    p.add_argument('runs', nargs='*', help='VARIANT-sSEED names (default: the plan)')
    p.add_argument('--jobs', type=int, default=2, help='runs at a time, one thread each')
    a = p.parse_args()
    names = [n for n in a.runs if split(n)] or PLAN
    if a.what == 'plan':
        d = done()
        for n in names: print(f"{'done' if n in d else 'todo'}  {n:16s} {(VARIANTS.get(split(n)[0]) or ('fine-tune of ' + needs(n),))[-1]}")
    elif a.what == 'occlusion-set':
        print(f"seed_study: the occluded validation images are in {occlusion_set().relative_to(ROOT)}")
    elif a.what == 'swaps':
        print(f"seed_study: swap rates added to {', '.join(add_swaps()) or 'no run'}")
    elif a.what == 'command':
        for n in names:
            if split(n)[0] in FT and not OCC.exists():
                print(f"# first: python benchmarks/seed_study.py occlusion-set   (builds {OCC.relative_to(ROOT)}, seed 0)")
            print('\n'.join(' '.join(c) for c in commands(n)))
    else:
        todo, busy, failed = [n for n in names if n not in done()], set(), set()
        with ThreadPoolExecutor(a.jobs) as ex: list(ex.map(lambda _: worker(todo, busy, failed), range(a.jobs)))
        sys.exit(1 if failed else 0)
