"""How much of the shipped model's error is finding the person: PCK at each prediction pass, and given the labelled joints' box.

    OMP_NUM_THREADS=1 python benchmarks/oracle_box.py [--checkpoint CKPT] [--data DIR]

Scores the checkpoint on LSPET 7,001-8,000 (flip test, PCK@0.2 as `mss_pose eval`) at every stage of box-less
prediction: the first pass on the whole image, the second on the square around the first pass's confident joints
(`refine_boxes`, what `mss_pose eval --subset valid` reports), a third around the second's, and with each person
cropped to `joints_box(labelled joints, cfg.person_pad)`, an oracle box no user has. The gap between the default two
passes and the oracle is what a better way of finding the person could win.
Link 2 (62 epochs): two passes 47.0, oracle 57.7. Link 3 (88 epochs, `--aug whole_p=0.3`): first pass 43.5, two
passes 57.8, three 58.4, oracle 61.8. Link 4 (102 epochs, 192 px): 53.8, 62.8, 62.8, 65.2 (Intel Xeon, AVX512 with
native bf16; the model runs in fp32).
"""
import argparse, numpy as np
from mss_pose.inference import load_model, predict_paths, refine_boxes
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
    cfg, pad = model.cfg, model.cfg.person_pad or 1.4
    recs = split_records(read_lsp(a.data), 1000)[1]
    paths, score = [r.image for r in recs], lambda k: float(pck(record_dists(recs, k), 0.2, cfg.js)[1])
    k, s = predict_paths(model, paths, refine=False)
    for stage in ('first pass (whole image)', 'second pass (the default)', 'third pass'):
        if stage != 'first pass (whole image)': k, s = predict_paths(model, paths, boxes=refine_boxes(k, s, pad))
        print(f"PCK@0.2, {len(recs)} held-out images, flip test, {stage}: {score(k):.3f}", flush=True)
    c, sz = joints_box(np.stack([r.kps for r in recs]), np.stack([r.vis for r in recs]) > 0, pad)
    k, _ = predict_paths(model, paths, boxes=[None if np.isnan(si) else (*ci, si) for ci, si in zip(c, sz)])
    print(f"PCK@0.2, {len(recs)} held-out images, flip test, oracle joint boxes: {score(k):.3f}")
