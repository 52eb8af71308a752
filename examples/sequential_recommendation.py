"""A sequential recommender (CL4SRec, or SASRec / MCLRec / ...) on the generated sequences (no files needed).

Leave-one-out split (last item: test, second to last: validation), training with early stopping on validation
MRR@10, then full ranking over all items on the test split: HR@K, NDCG@K, MRR@K.

    python examples/sequential_recommendation.py                      # CL4SRec, 20 epochs
    python examples/sequential_recommendation.py --model sasrec --epochs 2 --max-batches 3
"""
from __future__ import annotations

import argparse

from graphcl.experiment import resolve_device
from graphcl.utils import seed_everything
from recsys.data import leave_one_out, make_sequence_dataset
from recsys.eval import RankingProtocol, evaluate_ranking
from recsys.models import MODELS
from recsys.train import train_recommender


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cl4srec", choices=sorted(MODELS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--max-batches", type=int, default=None, help="cap the batches of an epoch")
    parser.add_argument("--users", type=int, default=2000, help="users of the generated dataset")
    args = parser.parse_args(argv)

    seed_everything(2020)
    dataset = make_sequence_dataset(num_users=args.users, num_items=600, seed=0)  # user sequences + item titles
    split = leave_one_out(dataset, max_len=50)
    model = MODELS[args.model].build(dataset.num_items, max_len=50, hidden_size=64, num_layers=2)
    # Data-dependent state (SRA-CL's semantic index); nothing for the other models.
    model.prepare(dataset, split)
    protocol = RankingProtocol(ks=(5, 10, 20))
    train_recommender(model, split, epochs=args.epochs, batch_size=256, lr=1e-3, stopping_step=5,
                      valid_metric="mrr@10", protocol=protocol, max_batches_per_epoch=args.max_batches,
                      device=resolve_device("auto"), show_progress=False)
    test = evaluate_ranking(model, split.test, protocol, split="test")  # best-validation weights
    print(f"{args.model} on {dataset.name}: " + "  ".join(f"{k} {100 * v:.2f}" for k, v in test.metrics.items()))
    return test.metrics


if __name__ == "__main__":
    main()
