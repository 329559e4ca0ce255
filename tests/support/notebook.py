"""The flexBlock PoFL MNIST notebook (tests.support.paths.NOTEBOOK): its cells, and their code adapted to run on
this package (flex/flexBlock imports -> offchain, federated_emnist -> the offline federated_mnist; without
torchvision, which does not import beside the CPU torch wheel this project uses, its `transforms` are the
package's own, offchain.transforms)."""

from __future__ import annotations

import importlib.util


def notebook_cells(text: str) -> list[str]:
    """The code of each ``In [None]:`` cell: the longest run of paragraphs after the marker that compiles."""
    cells = []
    for chunk in text.split("In [None]:")[1:]:
        paragraphs = chunk.strip("\n").split("\n\n")
        code = ""
        for i in range(len(paragraphs), 0, -1):
            candidate = "\n\n".join(paragraphs[:i])
            try:
                compile(candidate, "<cell>", "exec")
            except SyntaxError:
                continue
            code = candidate
            break
        cells.append(code)
    return cells


def adapt(code: str) -> str:
    code = code.replace("from flexBlock.", "from offchain.").replace("from flex.", "from offchain.")
    code = code.replace('"federated_emnist"', '"federated_mnist"')
    if importlib.util.find_spec("torchvision") is None:
        code = code.replace("from torchvision import transforms", "from offchain import transforms")
    return code
