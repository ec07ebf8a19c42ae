"""PCK of one checkpoint's heatmaps under each decoder: argmax, quarter, DARK with blur kernels 0..11.

    python benchmarks/decode_sweep.py --checkpoint mss_pose/weights/mss_small_lsp.pth --data ../shared/data/lspet

Runs the model once on the held-out LSPET images (whole-image crops, flip test), then decodes the same final heatmaps
every way and scores them with the project's PCK@0.2 in crop pixels. Prints a table, writes benchmarks/results/decode_sweep.json.
"""
from __future__ import annotations
import argparse, json
from pathlib import Path
import torch
from mss_pose.readers import read_lsp, split_records
from mss_pose.data import PoseDataset
from mss_pose.heatmaps import decode_heatmaps, rescale_kps
from mss_pose.inference import load_model, normalise_crops, flip_heatmaps
from mss_pose.metrics import joint_dists, torso_norm, pck


def heatmaps(model, js, ds, bs=32):
    "Flip-test final heatmaps (N, J, h, w), crop keypoints (N, J, 2) and weights (N, J) of a dataset."
    hms, kps, w = [], [], []
    for i in range(0, len(ds), bs):
        items = [ds[j] for j in range(i, min(i + bs, len(ds)))]
        x = normalise_crops(torch.stack([it[0] for it in items]).permute(0, 2, 3, 1).contiguous())
        with torch.no_grad(): hms.append(flip_heatmaps(model.eval(), x, js.flip_index).final.float())
        kps.append(torch.stack([it[1] for it in items])); w.append((torch.stack([it[2] for it in items]) > 0).float())
    return torch.cat(hms), torch.cat(kps), torch.cat(w)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--checkpoint', default=None); p.add_argument('--data', default='../shared/data/lspet')
    p.add_argument('--n-valid', type=int, default=1000)
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'decode_sweep.json'))
    a = p.parse_args(argv)
    model = load_model(a.checkpoint, device='cpu')
    cfg, js = model.cfg, model.cfg.js
    ds = PoseDataset(split_records(read_lsp(a.data), a.n_valid)[1], js, cfg.in_size)
    hm, kps, w = heatmaps(model, js, ds)
    norm = torso_norm(kps, w, js)
    rows = {'argmax': dict(method='argmax'), 'quarter': dict(method='quarter')}
    rows |= {f'dark, blur {k}': dict(method='dark', blur_kernel=k) for k in (0, 3, 5, 7, 9, 11)}
    res = {}
    for name, kw in rows.items():
        pred = rescale_kps(decode_heatmaps(hm, **kw)[0], hm.shape[-1], cfg.in_size)
        res[name] = float(pck(joint_dists(pred, kps, w, norm), 0.2, js)[1])
        print(f"{name:16s} {res[name]:.4f}")
    out = dict(checkpoint=str(a.checkpoint or 'shipped'), heatmap_px=hm.shape[-1], in_size=cfg.in_size,
               n=len(ds), cpu=torch.backends.cpu.get_cpu_capability(), pck=res)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(out, indent=1))

if __name__ == '__main__': main()
