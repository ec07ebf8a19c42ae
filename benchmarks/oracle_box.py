"""How much of the shipped model's error is finding the person: its PCK given the square around the labelled joints.

    OMP_NUM_THREADS=1 python benchmarks/oracle_box.py [--checkpoint CKPT]

Scores the checkpoint on LSPET 7,001-8,000 (flip test, PCK@0.2 as `mss_pose eval`) with each person cropped to
`joints_box(labelled joints, cfg.person_pad)`, an oracle box no user has. `mss_pose eval --subset valid` scores the same
images without labels (whole image, then a second pass on the first pass's joints); the gap between the two is what a
better first pass could win. Link 2 (the shipped weights at 62 epochs): 57.7 here against 47.0.
"""
import argparse, numpy as np
from mss_pose.inference import load_model, predict_paths
from mss_pose.readers import read_lsp, split_records
from mss_pose.metrics import record_dists, pck
from mss_pose.images import joints_box
from mss_pose.learner import cpu_summary

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--checkpoint', default=None); p.add_argument('--data', default='../shared/data/lspet')
    a = p.parse_args()
    print(cpu_summary())
    model = load_model(a.checkpoint)
    cfg, js = model.cfg, model.cfg.js
    recs = split_records(read_lsp(a.data), 1000)[1]
    c, s = joints_box(np.stack([r.kps for r in recs]), np.stack([r.vis for r in recs]) > 0, cfg.person_pad or 1.4)
    kps, _ = predict_paths(model, [r.image for r in recs], boxes=[None if np.isnan(si) else (*ci, si) for ci, si in zip(c, s)])
    print(f"PCK@0.2 with oracle joint boxes, {len(recs)} held-out images, flip test: "
          f"{float(pck(record_dists(recs, kps), 0.2, js)[1]):.3f}")
