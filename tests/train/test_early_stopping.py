from __future__ import annotations

import pytest

from graphcl.errors import ConfigError
from graphcl.train import EarlyStopping


def test_min_mode_with_delta_and_patience() -> None:
    stopper = EarlyStopping("loss", "min", patience=2, min_delta=0.1)
    assert stopper.update(1.0, 1)
    assert not stopper.update(0.95, 2)  # within min_delta
    assert not stopper.should_stop
    assert stopper.update(0.8, 3)
    assert not stopper.update(float("nan"), 4)
    assert not stopper.update(0.85, 5)
    assert stopper.should_stop
    assert (stopper.best_value, stopper.best_epoch) == (0.8, 3)


def test_max_mode_and_state_round_trip() -> None:
    stopper = EarlyStopping("acc", "max", patience=None)
    for epoch, value in enumerate([0.1, 0.5, 0.4], start=1):
        stopper.update(value, epoch)
    assert not stopper.should_stop
    restored = EarlyStopping("acc", "max")
    restored.load_state_dict(stopper.state_dict())
    assert (restored.best_value, restored.best_epoch, restored.num_bad_evals) == (0.5, 2, 1)
    with pytest.raises(ConfigError, match="monitor='acc'"):
        EarlyStopping("loss", "min").load_state_dict(stopper.state_dict())


@pytest.mark.parametrize("kwargs", [{"mode": "best"}, {"patience": 0}, {"patience": 1.5}, {"min_delta": -1.0}])
def test_invalid_arguments(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        EarlyStopping(**kwargs)
