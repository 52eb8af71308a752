"""MovieLens-100K reader: the staged real files (statistics, latin-1 titles, genres) and malformed input."""
from __future__ import annotations

import pytest

from graphcl.errors import DataError
from recsys.data.movielens import read_movielens_100k, read_movielens_genres


@pytest.mark.data
def test_real_ml100k_statistics_and_text(shared_data):
    root = shared_data / "seqrec" / "ml-100k"
    if not (root / "u.data").is_file():
        pytest.skip("ml-100k not staged")
    data = read_movielens_100k(root)
    stats = data.statistics()
    assert (stats["users"], stats["items"], stats["interactions"]) == (943, 1349, 99287)
    assert stats["min_len"] >= 5
    assert data.item_titles[1] == "Toy Story (1995); genres: Animation, Children's, Comedy"
    assert any("Misérables" in t for t in data.item_titles)  # latin-1 decoded
    assert sum(1 for t in data.item_titles[1:] if not t) == 1  # the "unknown" movie has no text
    genres = read_movielens_genres(data, root)
    assert genres[1] == ["Animation", "Children's", "Comedy"]
    everything = read_movielens_100k(root, k_core=1)
    assert everything.num_interactions == 100000 and everything.num_items == 1682
    assert read_movielens_100k(root, min_rating=4).num_interactions < 60000


def write(root, data_lines, items=None):
    root.mkdir(exist_ok=True)
    (root / "u.genre").write_text("".join(f"g{i}|{i}\n" for i in range(19)), encoding="latin-1")
    flags = "|".join(["0"] * 18 + ["1"])
    items = items or [f"{i}|Movie {i} (1999)|01-Jan-1999||url|{flags}" for i in range(1, 4)]
    (root / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    (root / "u.data").write_text("\n".join(data_lines) + "\n")


def test_time_order_ties_and_remapping(tmp_path):
    write(tmp_path / "ml", ["1\t3\t5\t20", "1\t1\t4\t10", "1\t2\t3\t20", "2\t3\t1\t5"])
    data = read_movielens_100k(tmp_path / "ml", k_core=1)
    assert data.sequences() == [[1, 3, 2], [3]]  # by time; the tie at t=20 keeps file order (3 before 2)
    assert data.item_tokens == ["[PAD]", "1", "2", "3"] and data.item_titles[3] == "Movie 3 (1999); genres: g18"
    with pytest.raises(DataError, match="no interactions left"):
        read_movielens_100k(tmp_path / "ml", k_core=5)


def test_malformed_files_name_file_and_line(tmp_path):
    write(tmp_path / "a", ["1\t1\t5\t10", "1\tx\t5\t11"])
    with pytest.raises(DataError, match=r"u\.data, line 2: non-integer"):
        read_movielens_100k(tmp_path / "a", k_core=1)
    write(tmp_path / "b", ["1\t1\t5"])
    with pytest.raises(DataError, match=r"u\.data, line 1: expected"):
        read_movielens_100k(tmp_path / "b", k_core=1)
    write(tmp_path / "c", ["1\t9\t5\t10"])
    with pytest.raises(DataError, match=r"item ids \[9\] are missing from u.item"):
        read_movielens_100k(tmp_path / "c", k_core=1)
    write(tmp_path / "d", ["1\t1\t5\t10"], items=["1|Short line|x"])
    with pytest.raises(DataError, match=r"u\.item, line 1: expected 24"):
        read_movielens_100k(tmp_path / "d", k_core=1)
    with pytest.raises(DataError, match="not found"):
        read_movielens_100k(tmp_path / "missing")


def test_genres_are_the_item_attributes_and_load_sequences_reads_the_grouplens_folder(tmp_path):
    from recsys.data import load_sequences

    flags = ["|".join("1" if g == genre else "0" for g in range(19)) for genre in range(5)]
    items = [f"{i}|Movie {i} (1999)|01-Jan-1999||url|{flags[i - 1]}" for i in range(1, 6)]
    ratings = [f"{u}\t{i}\t4\t{10 * i + u}" for u in range(1, 6) for i in range(1, 6)]  # a 5-core: kept whole
    write(tmp_path / "ml-100k", ratings, items=items)
    (tmp_path / "ml-100k.txt").write_text("1 1 2 3\n")  # the GroupLens folder wins over a sequence file
    direct = read_movielens_100k(tmp_path / "ml-100k")
    assert direct.item_attributes == [[], ["g0"], ["g1"], ["g2"], ["g3"], ["g4"]]
    by_name = load_sequences("ml-100k", root=tmp_path)
    by_folder = load_sequences(tmp_path / "ml-100k")
    for data in (by_name, by_folder):
        assert data.name == "ml-100k" and data.num_interactions == 25 and data.sequences() == direct.sequences()
        assert data.item_titles[2] == "Movie 2 (1999); genres: g1" and data.item_attributes == direct.item_attributes
