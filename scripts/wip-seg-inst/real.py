import sys, time, numpy as np
from pathlib import Path
from emcourse import data
from emcourse.data.registry import file_urls
from emcourse.data.kinds_hela2d import open_mito_slices
from emcourse.segment import instances_deep as deep, hela2d
from emcourse.mito import predict_mito
entry = data.registry()["hela-mito2d"]
urls = file_urls(entry)
paths = {r: Path("/work/shared/fixtures/seg-hela-mito2d/CODE/" + u.split("/CODE/", 1)[1]) for r, u in urls.items()}
paths = {r: p for r, p in paths.items() if any(f"{z:04d}" in r or f"z{z:04d}" in str(p) for z in (116, 150)) or True}
s = open_mito_slices(paths, entry)
w = sys.argv[1]
for z in (116, 150):
    d = s.at(z)
    box = tuple(slice(int(c.min()), int(c.max()) + 1) for c in np.nonzero(d["cell"]))
    lim = np.percentile(d["image"], [1, 99])
    t0 = time.time()
    fg, bd = predict_mito(d["image"][box], 10.0, weights=w, limits=lim)
    crop = {k: v[box] for k, v in d.items()}
    print(z, "box", crop["image"].shape, f"{time.time()-t0:.1f}s")
    for who in ("first", "revised"):
        sc = deep.compare_methods(crop[who], fg, bd, voxel_size=10.0, region=crop["cell"])
        for k, v in sc.items(): print(z, who, k, v)
    print(z, "passes F1", hela2d.region_instance_f1(d["first"], d["revised"], d["cell"]), "dice", hela2d.region_dice(d["first"], d["revised"], d["cell"]))
