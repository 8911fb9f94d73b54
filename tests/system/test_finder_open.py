"""The open-vocabulary finder through transformers, with seeded random-weight OWLv2, OWL-ViT and
CLIP models of the real architectures built offline (no real weights of these exist offline):
loading, batching, boxes to clock directions, cancellation, and CLIP photo search."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.rig.camera import photo
from tests.support.finder_models import tiny_clip, tiny_owl
from vision.finder.open_vocab import OpenVocabularyFinder, boxes_to_pixels, suppress
from vision.search.clip import ClipAnalyser
from vision.search.photos import PhotoIndex

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"owlv2": tiny_owl(root / "owlv2"), "owlvit": tiny_owl(root / "owlvit", "owlvit"),
            "clip": tiny_clip(root / "clip")}


class Cancelled:
    """A cancel token that turns after `after` checks (the stage's CancelToken's interface)."""

    def __init__(self, after: int) -> None:
        self.after = after

    @property
    def cancelled(self) -> bool:
        self.after -= 1
        return self.after < 0


def test_owl_boxes_to_pixels_padded_and_stretched():
    box = np.array([[0.5, 0.25, 0.2, 0.1]])
    # OWLv2 pads 640x480 to a 640 square: y is in units of 640.
    assert boxes_to_pixels(box, 640, 480, padded=True).tolist() == [[256, 128, 384, 192]]
    # OWL-ViT stretches: y is in units of 480.
    assert boxes_to_pixels(box, 640, 480, padded=False).tolist() == [[256, 96, 384, 144]]
    assert boxes_to_pixels(np.array([[1.0, 1.0, 0.5, 0.5]]), 100, 50, True).tolist() == \
        [[75, 50, 100, 50]]  # clipped to the picture


def test_suppression_keeps_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    assert suppress(boxes, np.array([0.9, 0.8, 0.7])) == [0, 2]


@pytest.mark.parametrize("kind", ["owlv2", "owlvit"])
def test_loads_detects_and_answers_with_directions(models, kind):
    finder = OpenVocabularyFinder(models[kind], models["clip"], box_threshold=0.0)
    finder.load()
    assert finder.padded == (kind == "owlv2") and finder.device == "cpu"
    result = finder.find(photo("coffee"), "mug")
    assert result.engine == "open"
    if kind == "owlv2":  # random OWL-ViT boxes may all fall outside the picture: none is kept
        assert result.found
    for match in result.matches:
        x0, y0, x1, y1 = match.box
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
        assert match.source == "detector"
    if result.found and result.matches[0].source == "detector":
        assert result.text().startswith(("Yes, I see", "I think I see"))
        assert "o'clock" in result.text() or "centre" in result.text()
    # A threshold no random box reaches: not found, and the ranker decides.
    strict = OpenVocabularyFinder(models[kind], None, box_threshold=1.01)
    assert not strict.find(photo("coffee"), "mug").found


def test_batching_gives_the_same_boxes_as_one_by_one(models):
    images = [photo("coffee"), photo("chelsea"), photo("rocket")]
    batched = OpenVocabularyFinder(models["owlv2"], box_threshold=0.5, batch=3)
    single = OpenVocabularyFinder(models["owlv2"], box_threshold=0.5, batch=1)
    a = batched.detect(images, ["mug", "cat"])
    b = single.detect(images, ["mug", "cat"])
    assert len(a) == len(b) == 3
    for x, y in zip(a, b):
        assert [m[1] for m in x] == [m[1] for m in y]
        assert np.allclose([m[2] for m in x], [m[2] for m in y], atol=1e-4)


def test_cancellation_stops_between_batches(models):
    finder = OpenVocabularyFinder(models["owlv2"], box_threshold=0.5, batch=1)
    images = [photo("coffee")] * 4
    assert len(finder.detect(images, ["mug"], cancel=Cancelled(after=2))) == 2


def test_the_same_seed_builds_the_same_model(models, tmp_path):
    other = tiny_clip(tmp_path / "clip-again")
    a, b = ClipAnalyser(models["clip"]), ClipAnalyser(other)
    image = photo("astronaut")
    assert np.allclose(a.embed_images([image]), b.embed_images([image]), atol=1e-5)


def test_clip_search_index_round_trip(models, tmp_path):
    import cv2

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("coffee", "chelsea", "rocket"):
        cv2.imwrite(str(folder / f"{name}.jpg"), photo(name))
    analyser = ClipAnalyser(models["clip"])
    analyser.load()
    with PhotoIndex(tmp_path / "clip.sqlite", analyser) as index:
        report = index.update(folder)
        assert report.added == 3
        rows = list(index.entries(folder))
        assert all(entry.embedding.shape == (32,) for _, entry in rows)
        assert all(abs(float(np.linalg.norm(e.embedding)) - 1) < 1e-4 for _, e in rows)
        hits = index.search("a cat", 3, folder, min_score=-1.0)
        # The index ranks exactly as brute-force cosine similarity does.
        text = analyser.embed_texts(["a photo of a cat"])[0]
        direct = sorted(((float(e.embedding @ text), p) for p, e in rows), reverse=True)
        assert [h.path for h in hits] == [p for _, p in direct]
        assert index.update(folder).unchanged == 3
