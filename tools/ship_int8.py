"""Make the shipped checkpoint's int8 OpenVINO model: mss_pose/weights/mss_small_lsp.int8.xml (and .bin).

    python tools/ship_int8.py            # needs ../shared/data/lspet and `pip install -e ".[int8]"`

Calibration draws 200 of the LSPET training images (1-7,000; the validation images 7,001-8,000 it is scored on are
left out), seed 0, and runs `mss_pose.export.quantize_int8` on them: both passes' crops and their mirror images. Run
it again whenever the shipped checkpoint changes: `load_engine` runs the int8 model only for the weights it was made
from (it records their SHA-256), and a test checks that the shipped pair match.
"""
import argparse
from pathlib import Path
from mss_pose.export import int8_file, quantize_int8
from mss_pose.readers import read_lsp, split_records

ROOT = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', type=Path, default=ROOT / '..' / 'shared' / 'data' / 'lspet')
    p.add_argument('--images', type=int, default=200)
    a = p.parse_args()
    train = split_records(read_lsp(a.data), 1000)[0]
    out = quantize_int8(None, [r.image for r in train], int8_file(None), n=a.images, seed=0)
    print(f"wrote {out} and {out.with_suffix('.bin').name} ({sum(f.stat().st_size for f in (out, out.with_suffix('.bin'))) / 1e6:.1f} MB), "
          f"calibrated on {min(a.images, len(train))} of {len(train)} training images")
