import numpy as np
import pytest

from codesign.accuracy import metrics as M


def test_glue_classification_metrics():
    preds, labels = [1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0]
    out = M.glue_metrics("mrpc", preds, labels)
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    mcc = M.glue_metrics("cola", preds, labels)["matthews_correlation"]
    assert mcc == pytest.approx((2 * 2 - 1 * 1) / np.sqrt(3 * 3 * 3 * 3))
    assert M.matthews([1, 1, 1], [1, 0, 1]) == 0.0  # a constant prediction


def test_glue_regression_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    x = [0.1, 0.5, 0.5, 2.0, 3.0, 1.0]
    y = [0.0, 1.0, 0.7, 2.5, 2.0, 1.0]
    out = M.glue_metrics("stsb", x, y)
    assert out["pearson"] == pytest.approx(scipy_stats.pearsonr(x, y)[0])
    assert out["spearmanr"] == pytest.approx(scipy_stats.spearmanr(x, y)[0])


def test_sklearn_agrees_on_mcc_and_f1():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    p, y = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    assert M.matthews(p, y) == pytest.approx(sk.matthews_corrcoef(y, p))
    assert M.f1_binary(p, y) == pytest.approx(sk.f1_score(y, p))


def test_squad_official_semantics():
    assert M.normalize_answer("The  Denver Broncos!") == "denver broncos"
    out = M.squad_metrics(["Denver Broncos", "the Panthers", "2015 season game"],
                          [["Denver Broncos", "Broncos"], ["Carolina Panthers", "Panthers"],
                           ["2015 season", "2015"]])
    assert out["exact_match"] == pytest.approx(100 * 2 / 3)
    f1_third = 2 * (2 / 3) * 1 / (2 / 3 + 1)
    assert out["f1"] == pytest.approx(100 * (1 + 1 + f1_third) / 3)


def test_summarize():
    assert M.summarize([1.0]) == {"mean": 1.0, "std": 0.0}
    assert M.summarize([1.0, 3.0])["std"] == pytest.approx(1.0)
