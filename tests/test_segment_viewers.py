"""Segmentation figures: static fallbacks for the book, and the widget where a kernel exists."""

import numpy as np
import pytest

from emcourse import segment, viewers


@pytest.fixture(scope="module")
def block():
    return segment.hela_standin((8, 64, 64), seed=1)


def test_static_figures(block):
    fig = viewers.segment.panels(
        [block.em[0], block.em[1]], ["a", "b"], voxel_size=15.0, labels=[block.labels[0], None]
    )
    assert type(fig).__name__ == "Figure" and len(fig.axes) == 2
    fig = viewers.segment.label_overlay(
        block.em, block.labels, voxel_size=15.0, truth=block.labels > 0
    )
    assert type(fig).__name__ == "Figure"
    fig = viewers.segment.labels_3d(block.labels, voxel_size=15.0)
    assert len(fig.axes[0].collections) == len(np.unique(block.labels)) - 1


def test_overlay_viewer_is_static_in_the_book_and_a_widget_otherwise(block, monkeypatch):
    monkeypatch.setenv("EMCOURSE_STATIC", "1")
    fig = viewers.segment.overlay_viewer(block.em, voxel_size=15.0, threshold=120)
    assert type(fig).__name__ == "Figure" and len(fig.axes) == 3
    monkeypatch.delenv("EMCOURSE_STATIC")
    widget = viewers.segment.overlay_viewer(block.em, voxel_size=15.0, threshold=120)
    sliders = [c for c in widget.children if hasattr(c, "value") and not hasattr(c, "format")]
    assert [s.description for s in sliders] == ["slice", "threshold", "opacity"]
    png = widget.children[-1].value
    sliders[1].value = 60.0  # a new threshold redraws the image
    assert widget.children[-1].value != png
