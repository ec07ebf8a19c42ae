"""Budgeted recipe study: short one-cycle runs that differ in one setting each, same seed, same images seen.

    OMP_NUM_THREADS=2 python benchmarks/recipe_study.py base lr5e-3 in192 ...   # runs the named variants in order
    python benchmarks/recipe_study.py --list                                     # the variants

Each run trains the `small` preset (plain hourglass unless the variant says MSS) on a fixed random 3,500 of LSPET
images 1-7,000 for 3 epochs (10,500 images seen, one one-cycle schedule, bf16 autocast where the CPU has native bf16),
and validates after every epoch on LSPET 7,001-7,500 with the learner's PCK@0.2 (flip test off, crop pixels).
At the end it scores the model as `mss_pose eval` does (whole images, flip test): `pck_whole` in one pass and, for
variants trained on joint boxes, `pck_whole_2pass`. Writes docs/study/<variant>.csv (the learner's history) and adds a
row to docs/study/results.json (final PCK, images/s, CPU capability). Short runs rank settings by how fast they learn, not by where they end.
"""
from __future__ import annotations
import argparse, json, random, shutil, time
from dataclasses import replace
from pathlib import Path
import torch
from mss_pose.readers import read_lsp, split_records
from mss_pose.data import pose_dataloaders, AugConfig
from mss_pose.model import MSSConfig
from mss_pose.learner import mss_learner, amp_mode, cpu_summary

MSS = dict(ms_supervision=True, regression=True, alpha=1.0, mask_p=0.)
VARIANTS = {   # name: (config overrides, training settings); everything else as in `base`
    'base':       (dict(), dict()),
    'lr5e-3':     (dict(), dict(lr=5e-3)),
    'lr1e-3':     (dict(), dict(lr=1e-3)),
    'warm10':     (dict(), dict(pct_start=0.1)),
    'sigma1.5':   (dict(sigma=1.5), dict()),
    'auglight':   (dict(), dict(aug=AugConfig(scale=(0.85, 1.15), rot=15., rot_p=0.5))),
    'in192':      (dict(in_size=192), dict()),                # 2.25x the compute: 48 px heatmaps, same weights as base
    'in192-f96':  (dict(in_size=192, n_feats=96), dict()),   # ~1.3x the compute of base: resolution for width
    'in256-f64':  (dict(in_size=256, n_feats=64), dict()),   # ~1x the compute: the same trade, further
    'f192':       (dict(n_feats=192), dict()),                # 2.25x the compute: width alone
    'mss-sum':    (dict(MSS, structure='sum'), dict()),       # MSS-Net, structure loss on the group's summed residuals
    'mss-mean':   (dict(MSS, structure='mean'), dict()),      # MSS-Net, joint MSE + alpha * mean of neighbours' MSEs
    'mss-mse':    (dict(MSS, alpha=0.), dict()),              # MSS-Net without the structure term
    'tight':      (dict(person_pad=1.4), dict()),             # crops of the labelled joints' box x 1.4, not the whole image
    'tight-wide': (dict(person_pad=1.4), dict(aug=AugConfig(scale=(0.75, 2.0)))),  # ... zoomed out up to the whole image
    # the paired ablation (`--epochs 20 --out docs/ablation/paired`): the shipped recipe's crops, MSS parts on and off
    'tight-mss':  (dict(MSS, person_pad=1.4), dict()),        # full MSS-Net ('sum'), masking aside (a fine-tuning step)
    'tight-ms':   (dict(MSS, regression=False, alpha=0., person_pad=1.4), dict()),   # multi-scale supervision alone
    'tight-reg':  (dict(MSS, ms_supervision=False, alpha=0., person_pad=1.4), dict()),  # regression network alone
    'tight-sa':   (dict(alpha=1.0, person_pad=1.4), dict()),  # structure-aware loss alone, on the plain hourglass
}


def protocol_pck(model, recs, refine: bool) -> float:
    "PCK@0.2 (flip test) from whole images, as `mss_pose eval` scores LSP: one pass, or two for a model trained on joint boxes."
    from mss_pose.inference import predict_paths
    from mss_pose.metrics import record_dists, pck
    kps, _ = predict_paths(model, [r.image for r in recs], refine=refine)
    return float(pck(record_dists(recs, kps), 0.2, model.cfg.js)[1])


def run(name, data, n_train=3500, n_valid=500, epochs=3, bs=16, seed=0, out=Path('docs/study')):
    "Train one variant; returns its results row."
    over, tr = VARIANTS[name]
    recs = read_lsp(data)
    trn, val = split_records(recs, 1000)
    trn, val = random.Random(seed).sample(trn, n_train), val[:n_valid]
    cfg = replace(MSSConfig.preset('small', joint_set='lsp', mask_p=0.).baseline(), **over)
    dls = pose_dataloaders(trn, val, cfg, bs=bs, aug=tr.get('aug'), num_workers=0, seed=seed)   # in_size, scales, sigma, person_pad from cfg
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / 'runs' / name, ignore_errors=True)            # a rerun starts a fresh history
    learn = mss_learner(dls, path=out / 'runs' / name, amp='auto', save_best=False)
    t = time.time()
    learn.fit_one_cycle(epochs, tr.get('lr', 2e-3), pct_start=tr.get('pct_start', 0.25))
    secs = time.time() - t
    hist = (out / 'runs' / name / 'models' / 'history.csv').read_text()
    (out / f'{name}.csv').write_text(hist)
    row = dict(variant=name, overrides={k: str(v) for k, v in {**over, **tr}.items()}, epochs=epochs, n_train=n_train,
               images_seen=epochs * (n_train // bs) * bs, n_valid=n_valid, pck=float(learn.recorder.values[-1][-1]),
               best_pck=max(float(v[-1]) for v in learn.recorder.values), minutes=round(secs / 60, 1),
               train_img_s=round(epochs * n_train / secs, 1), amp=amp_mode('auto', 'cpu'),
               cpu=cpu_summary())
    row['pck_whole'] = protocol_pck(learn.model, val, refine=False)       # one pass on the whole image
    if cfg.person_pad: row['pck_whole_2pass'] = protocol_pck(learn.model, val, refine=True)
    res = out / 'results.json'
    rows = [r for r in (json.loads(res.read_text()) if res.exists() else []) if r['variant'] != name]
    res.write_text(json.dumps(rows + [row], indent=1))
    print(json.dumps(row))
    return row


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('variants', nargs='*'); p.add_argument('--list', action='store_true')
    p.add_argument('--data', default='../shared/data/lspet'); p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--n-train', type=int, default=3500); p.add_argument('--out', type=Path, default=Path('docs/study'))
    a = p.parse_args()
    if a.list or not a.variants: print('\n'.join(f'{k:12s} {v}' for k, v in VARIANTS.items()))
    for v in a.variants: run(v, a.data, n_train=a.n_train, epochs=a.epochs, out=a.out)
