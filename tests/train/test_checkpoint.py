from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.errors import DataError
from graphcl.train import load_checkpoint, save_checkpoint
from tests.train._toys import NoisyRegressor, assert_same_params, regression_graph


def _trained(steps: int = 3) -> tuple[NoisyRegressor, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = NoisyRegressor()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = regression_graph()
    for _ in range(steps):
        optimizer.zero_grad()
        model(data).backward()
        optimizer.step()
    return model, optimizer


def test_save_load_gives_identical_outputs_and_optimizer_state(tmp_path: Path) -> None:
    model, optimizer = _trained()
    path = save_checkpoint(tmp_path / "sub" / "ck.pt", model, optimizer, epoch=3, best_value=0.5, best_epoch=2,
                           config={"lr": 1e-2})
    torch.manual_seed(1)
    fresh = NoisyRegressor()
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=1e-2)
    checkpoint = load_checkpoint(path, fresh, fresh_optimizer)
    assert checkpoint["epoch"] == 3 and checkpoint["best_epoch"] == 2 and checkpoint["best_value"] == 0.5
    x = regression_graph().x
    model.eval()
    fresh.eval()
    assert torch.equal(model.lin2(model.lin1(x)), fresh.lin2(fresh.lin1(x)))
    assert_same_params(model, fresh, atol=0)
    state, fresh_state = optimizer.state_dict()["state"], fresh_optimizer.state_dict()["state"]
    assert state.keys() == fresh_state.keys()
    for key in state:
        for name in state[key]:
            assert torch.equal(state[key][name], fresh_state[key][name])
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["ck.pt"]  # no temporary file left behind


def test_checkpoint_loads_with_weights_only_and_holds_plain_values(tmp_path: Path) -> None:
    model, optimizer = _trained(1)
    np.random.rand()
    save_checkpoint(tmp_path / "ck.pt", model, optimizer, 1, best_state=model.state_dict(),
                    config={"root": tmp_path, "dims": (4, 8), "scale": np.float32(0.5)}, note="hello")
    checkpoint = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert {"model", "optimizer", "epoch", "best_value", "best_epoch", "best_state", "config", "versions", "rng",
            "note"} <= checkpoint.keys()
    assert set(checkpoint["versions"]) == {"graphrec-cl", "torch", "torch_geometric", "python"}
    assert type(checkpoint["versions"]["torch"]) is str
    assert checkpoint["config"] == {"root": str(tmp_path), "dims": (4, 8), "scale": 0.5}
    rng = checkpoint["rng"]
    assert isinstance(rng["torch"], torch.Tensor) and rng["torch"].dtype == torch.uint8
    assert isinstance(rng["numpy"]["keys"], list) and all(type(k) is int for k in rng["numpy"]["keys"])
    assert isinstance(rng["python"], list) and isinstance(rng["python"][1], list)


def test_unstorable_extra_is_rejected_at_save_time(tmp_path: Path) -> None:
    model, optimizer = _trained(1)
    with pytest.raises(TypeError, match=r"checkpoint\['config'\]\['fn'\]"):
        save_checkpoint(tmp_path / "ck.pt", model, optimizer, 1, config={"fn": print})
    assert not any(tmp_path.iterdir())


def test_missing_and_corrupt_files_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(missing)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(DataError, match="corrupt.pt"):
        load_checkpoint(corrupt)
    model, optimizer = _trained(1)
    good = save_checkpoint(tmp_path / "good.pt", model, optimizer, 1)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataError, match="truncated.pt"):
        load_checkpoint(truncated)
    other = tmp_path / "other.pt"
    torch.save([1, 2, 3], other)
    with pytest.raises(DataError, match="other.pt.*not a graphcl checkpoint"):
        load_checkpoint(other)


def test_mismatched_model_is_a_data_error(tmp_path: Path) -> None:
    model, optimizer = _trained(1)
    path = save_checkpoint(tmp_path / "ck.pt", model, optimizer, 1)
    with pytest.raises(DataError, match="does not match the model"):
        load_checkpoint(path, NoisyRegressor(hidden=5))
    no_optimizer = save_checkpoint(tmp_path / "no_opt.pt", model, None, 1)
    with pytest.raises(DataError, match="no optimiser state"):
        load_checkpoint(no_optimizer, optimizer=optimizer)
