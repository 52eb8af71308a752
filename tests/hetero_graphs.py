"""Small heterogeneous graphs with declared meta-paths for the MEOW / AdaMEOW tests."""
from __future__ import annotations

import torch
from torch_geometric.data import HeteroData

from graphcl.data.heco import MetaPath, attach_metapaths


def planted_hetero_graph(num_papers: int = 60, num_authors: int = 40, num_subjects: int = 6, num_classes: int = 3,
                         seed: int = 0) -> HeteroData:
    """ACM-like papers / authors / subjects whose relations follow planted classes (so contrast can learn them),
    with HeCo-style splits ``train/val/test_idx_<r>`` for r = 2 and 4."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_papers) % num_classes
    author_class = torch.arange(num_authors) % num_classes
    subject_class = torch.arange(num_subjects) % num_classes
    pa = []
    for p in range(num_papers):
        same = torch.nonzero(author_class == y[p]).squeeze(1)
        chosen = same[torch.randperm(same.numel(), generator=gen)[:2]]
        pa += [(p, int(a)) for a in chosen]
        pa.append((p, int(torch.randint(num_authors, (1,), generator=gen))))
    same_subject = [torch.nonzero(subject_class == c).squeeze(1) for c in range(num_classes)]
    ps = [(p, int(same_subject[int(y[p])][torch.randint(same_subject[int(y[p])].numel(), (1,), generator=gen)]))
          for p in range(num_papers)]
    data = HeteroData()
    features = torch.rand(num_papers, 12, generator=gen) + torch.nn.functional.one_hot(y, 12).float()
    data["paper"].x = features / features.sum(1, keepdim=True)
    data["author"].x = torch.rand(num_authors, 5, generator=gen)
    data["subject"].x = torch.eye(num_subjects).to_sparse()
    data["paper"].y = y
    pa_index = torch.tensor(sorted(set(pa))).t()
    ps_index = torch.tensor(ps).t()
    data["paper", "to", "author"].edge_index = pa_index
    data["author", "to", "paper"].edge_index = pa_index.flip(0)
    data["paper", "to", "subject"].edge_index = ps_index
    data["subject", "to", "paper"].edge_index = ps_index.flip(0)
    order = torch.randperm(num_papers, generator=gen)
    for rate in (2, 4):
        train = torch.cat([order[y[order] == c][:rate] for c in range(num_classes)])
        rest = order[~torch.isin(order, train)]
        data["paper"][f"train_idx_{rate}"] = train
        data["paper"][f"val_idx_{rate}"] = rest[: len(rest) // 2]
        data["paper"][f"test_idx_{rate}"] = rest[len(rest) // 2:]
    data.label_rates = (2, 4)
    data.dataset_name = "planted"
    return attach_metapaths(data, "paper", [MetaPath("PAP", ("paper", "author", "paper"), (1,)),
                                            MetaPath("PSP", ("paper", "subject", "paper"), (1,))])
