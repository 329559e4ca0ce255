"""flex's ``load``: federated datasets by name.

``load("federated_mnist", return_test=True)`` is the offline MNIST federation shipped with
the project (1,000 clients, Dirichlet(0.5) label skew) and MNIST's test set;
``load("federated_emnist", return_test=True, split="digits")`` is EMNIST digits federated by
writer (downloaded once from NIST; see offchain.fl.emnist);
``load("federated_fashion_mnist", return_test=True)`` is Fashion-MNIST with the same Dirichlet(0.5)
1,000-client split (Debian's ``dataset-fashion-mnist`` files, else downloaded once from Zalando;
see offchain.fl.fashion_mnist).
"""

from __future__ import annotations

from typing import Any

from offchain.data import Dataset, FedDataset
from offchain.errors import PoflValueError
from offchain.fl import federation as fedmod
from offchain.fl.images import LabeledImages
from offchain.fl.mnist import load_mnist

DATASETS = ("federated_mnist", "federated_emnist", "federated_fashion_mnist")


def _federate(train: LabeledImages, fed: fedmod.Federation) -> FedDataset:
    return FedDataset({f"client_{i}": Dataset.from_labeled(train.subset(fed.client(i))) for i in range(fed.n_clients)})


def load(name: str, return_test: bool = False, split: str | None = None, **_: Any) -> Any:
    """A FedDataset (and, with ``return_test``, the test Dataset) by ``name``."""
    if name == "federated_mnist":
        train = load_mnist("train")
        fed_dataset = _federate(train, fedmod.from_file(fedmod.BENCHMARK_FEDERATION, n_samples=len(train)))
        test = Dataset.from_labeled(load_mnist("test"))
    elif name == "federated_emnist":
        from offchain.fl.emnist import load_emnist

        train, writers, test_set = load_emnist(split or "digits")
        fed_dataset = _federate(train, fedmod.by_writer(writers))
        test = Dataset.from_labeled(test_set)
    elif name == "federated_fashion_mnist":
        from offchain.fl.fashion_mnist import benchmark_federation, load_fashion_mnist

        train = load_fashion_mnist("train")
        fed_dataset = _federate(train, benchmark_federation(train))
        test = Dataset.from_labeled(load_fashion_mnist("test"))
    else:
        raise PoflValueError(f"unknown dataset {name!r}: choose one of {DATASETS}")
    return (fed_dataset, test) if return_test else fed_dataset
