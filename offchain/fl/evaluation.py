"""Accuracy on the evaluation set, for one model or many in one pass.

For SimpleNet the first layer of every model is computed with one matrix product over the
raw pixels: normalised inputs are ``x/127.5 - 1``, so ``W·x_n = W·(x/127.5) - W·1``, and pixel
columns that are zero in every evaluation image drop out exactly. Other architectures are
evaluated with ``vmap`` over ``functional_call``. Models are taken in chunks to bound memory.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, vmap

from offchain.fl.images import LabeledImages
from offchain.fl.training import FlatParams, normalize

MODELS_PER_CHUNK = 16


class Evaluator:
    """An evaluation set on a device, and its sha256 (what the consensus contract stores)."""

    def __init__(self, eval_set: LabeledImages, flat: FlatParams, architecture: str, device: torch.device) -> None:
        self.sha256 = eval_set.sha256()
        self.flat = flat
        self.architecture = architecture
        self.device = device
        raw = torch.from_numpy(eval_set.images.reshape(len(eval_set), -1).copy()).to(device)
        self.labels = torch.from_numpy(eval_set.labels.copy()).to(device)
        self.n = len(eval_set)
        if architecture == "simplenet":
            self.used = (raw != 0).any(dim=0)
            self.scaled_t = (raw[:, self.used].float() / 127.5).T.contiguous()  # (used pixels, N)
        else:
            self.inputs = normalize(raw)

    @torch.no_grad()
    def accuracies(self, params: torch.Tensor) -> torch.Tensor:
        """Accuracy of each row of ``params`` (M, P) on the whole evaluation set, shape (M,)."""
        if params.ndim == 1:
            params = params.unsqueeze(0)
        chunks = [self._chunk(params[i:i + MODELS_PER_CHUNK]) for i in range(0, len(params), MODELS_PER_CHUNK)]
        return torch.cat(chunks) if chunks else torch.zeros(0, device=self.device)

    def accuracy(self, params: torch.Tensor) -> float:
        return float(self.accuracies(params)[0])

    def _chunk(self, params: torch.Tensor) -> torch.Tensor:
        if self.architecture == "simplenet":
            predictions = self._simplenet_predictions(params)
        else:
            def logits(p: torch.Tensor) -> torch.Tensor:
                return functional_call(self.flat.module, self.flat.unflatten(p), (self.inputs,))

            predictions = vmap(logits)(params).argmax(dim=2)
        return (predictions == self.labels).float().mean(dim=1)

    def _simplenet_predictions(self, params: torch.Tensor) -> torch.Tensor:
        m = len(params)
        w = self.flat.unflatten_rows(params)
        w1, b1, w2, b2 = w["fc1.weight"], w["fc1.bias"], w["fc2.weight"], w["fc2.bias"]  # (m,128,784) ...
        hidden_n = w1.shape[1]
        shift = (b1 - w1.sum(dim=2)).reshape(m * hidden_n, 1)  # the "- W·1" of the normalisation, plus the bias
        hidden = torch.addmm(shift, w1[:, :, self.used].reshape(m * hidden_n, -1), self.scaled_t)  # (m*128, N)
        hidden.relu_()
        logits = torch.baddbmm(b2.unsqueeze(2), w2, hidden.view(m, hidden_n, self.n))  # (m, 10, N)
        return logits.argmax(dim=1)
