"""The metric key ``NAME[@HORIZON[:pNN]]``: parsed in one module, printed back the same."""

import pytest

from codesign.errors import InputError
from codesign.metric_key import MetricKey

GOOD = [
    # text, name, horizon, quantile, percent, seconds
    ("latency_us", "latency_us", None, None, None, None),
    ("accuracy@1d", "accuracy", "1d", None, None, 86400.0),
    ("accuracy@1y:p10", "accuracy", "1y", "p10", 10.0, 365.25 * 86400),
    ("accuracy_before@worst:p0", "accuracy_before", "worst", "p0", 0.0, None),
    ("accuracy@mean", "accuracy", "mean", None, None, None),
    ("accuracy@1mo:p100", "accuracy", "1mo", "p100", 100.0, 30.4375 * 86400),
    ("accuracy@0s", "accuracy", "0s", None, None, 0.0),
    ("accuracy@10y:p50", "accuracy", "10y", "p50", 50.0, 10 * 365.25 * 86400),
]


@pytest.mark.parametrize("text,name,horizon,quantile,percent,seconds", GOOD)
def test_a_key_parses_into_its_parts_and_prints_back(text, name, horizon, quantile, percent,
                                                       seconds):
    key = MetricKey.parse(text)
    assert (key.name, key.horizon, key.quantile) == (name, horizon, quantile)
    assert key.percent == percent
    assert key.seconds == (None if seconds is None else pytest.approx(seconds))
    assert str(key) == text and MetricKey.parse(str(key)) == key
    assert key.aggregate == (horizon in ("mean", "worst"))


def test_an_objective_at_field_builds_the_same_key_as_its_column():
    key = MetricKey.of("accuracy", "1y:p10", "objectives[0].at")
    assert key == MetricKey.parse("accuracy@1y:p10") and key.at == "1y:p10"
    assert MetricKey.parse("latency_us").at is None


BAD = [
    # text, words the one-line error must hold
    ("accuracy@1y:q10", "quantile 'q10' in 'accuracy@1y:q10': expected p0 .. p100"),
    ("accuracy@1y:p101", "quantile 'p101'"),
    ("accuracy@1y:p010", "quantile 'p010'"),
    ("accuracy@1y:", "quantile ''"),
    ("accuracy@1x", "horizon '1x' in 'accuracy@1x': expected a drift time"),
    ("accuracy@", "horizon ''"),
    ("accuracy@soon:p10", "mean or worst"),
    ("", "expected NAME, NAME@HORIZON"),
    ("1accuracy", "'1accuracy': expected NAME"),
    ("acc uracy@1d", "expected NAME"),
    ("__import__('os')", "expected NAME"),
]


@pytest.mark.parametrize("text,words", BAD)
def test_a_bad_key_is_one_line_naming_where_and_the_key(text, words):
    with pytest.raises(InputError) as err:
        MetricKey.parse(text, "--require")
    message = str(err.value)
    assert message.startswith("--require: ") and words in message and "\n" not in message


def test_keys_are_values():
    assert MetricKey("accuracy", "1d") == MetricKey.parse("accuracy@1d")
    assert len({MetricKey.parse("accuracy@1d"), MetricKey("accuracy", "1d")}) == 1
    with pytest.raises(AttributeError):
        MetricKey("x").name = "y"
