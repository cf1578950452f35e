import sys

import nbformat as nbf

M, C = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell


def tagged(src, *tags):
    c = C(src)
    c.metadata["tags"] = list(tags)
    return c


cells = [
    M("""# Exercises: separate touching mitochondria with a boundary network

Make a boundary network's training targets from instance labels, turn its two
probability maps into instances with seeds and a watershed, and predict how
well two labelling passes agree object by object. Each check runs your
function on its own data and tells you how far off you are.

**Prerequisites**: the lesson "Separate touching mitochondria with a boundary
network".
**Time**: about 30 minutes."""),
    C("""import numpy as np
from skimage import measure, segmentation

from emcourse import checks, data"""),
    tagged("data.banner()  # which data produced this page's numbers: updated by every load",
           "remove-input"),
    M("""## Task 1: targets for a boundary network

`labels` is one slice of instance labels (0 = background, 1, 2, ... one number
per mitochondrion; some of them touch). Return the targets as `uint8`: 0 for
background, 1 inside a mitochondrion, 2 on its boundary. A boundary pixel
belongs to a mitochondrion and has a side neighbour (up, down, left, right)
inside the image that is not the same mitochondrion. Pixels on the image's
own edge are not boundary because of the edge."""),
    C("""def boundary_targets(labels):
    ### BEGIN SOLUTION
    edge = segmentation.find_boundaries(labels, connectivity=1, mode="inner")
    targets = (labels > 0).astype(np.uint8)
    targets[edge & (labels > 0)] = 2
    return targets
    ### END SOLUTION"""),
    C("checks.instances_boundary_targets(boundary_targets)"),
    M("""## Task 2: instances from two probability maps

`fg` and `bd` are a network's foreground and boundary probabilities of one
slice. Return instance labels (one integer per mitochondrion, 0 for
background): a seed for each mitochondrion where the network is sure it is
inside and not on a boundary (both at 0.5), then a watershed that grows each
seed over the foreground only. The check scores your labels against the true
mitochondria."""),
    C("""def instances(fg, bd):
    ### BEGIN SOLUTION
    seeds = measure.label((fg > 0.5) & (bd < 0.5))
    return segmentation.watershed(bd, seeds, mask=fg > 0.5)
    ### END SOLUTION"""),
    C("checks.instances_seeded_watershed(instances)"),
    M("""## Two passes, object by object: predict, then run

The same lab drew the mitochondria of the HeLa slices twice, a first pass and
a revised one. The cell below loads the slices (the real ones where they can
be fetched; their labels are GPL-3) and says which it ran on."""),
    C("""slices = data.load("hela-mito2d")
print(slices.source)
print("ran on", data.loaded("hela-mito2d"))"""),
    M("""**Predict, then run.** Pixel by pixel the two passes agree closely (the
lesson "Fine-tune a network on real mitochondria" printed their Dice). What is
the **instance F1 at IoU 0.5** of the revised pass
against the first, inside the cell, on test slice z 150? Commit a number
between 0 and 1."""),
    C("""### BEGIN SOLUTION
my_passes_guess = 0.9
### END SOLUTION"""),
    C("checks.instances_passes_prediction(my_passes_guess, slices)"),
    M("""**Interpret.** Two mitochondria lie pressed together along their length. The
threshold with a distance-transform watershed keeps them as one object; the
boundary network with a watershed separates them. Why? One letter, as a
string:

- (a) the network saw more mitochondria in training than the distance
  watershed;
- (b) the distance transform knows only the mask's shape: along a wide
  contact there is no neck, so the cores join; the boundary output reads the
  membranes between them in the image;
- (c) the boundary network's watershed runs in 3D and the distance one in 2D;
- (d) the boundary network uses a lower threshold on the foreground."""),
    C("""### BEGIN SOLUTION
my_contact_answer = "b"
### END SOLUTION"""),
    C("checks.instances_contact_choice(my_contact_answer)"),
    M("""## Summary

You made targets that give touching mitochondria a wall between them, grew
instances from seeds that avoid the boundaries, and saw that two careful
labelling passes agree less object by object than pixel by pixel: the
ceiling an instance method is measured against."""),
]
nb = nbf.v4.new_notebook()
nb.cells = cells
nb.metadata = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
nbf.write(nb, sys.argv[1])
