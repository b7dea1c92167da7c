"""Building blocks of StyleTTS2's ASRCNN, with its module and parameter names (so its checkpoints load)."""

from __future__ import annotations

import math

import torch
from torch import nn


class LinearNorm(nn.Module):
    """``nn.Linear`` (as ``linear_layer``) with Xavier-uniform initialisation."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, w_init_gain: str = "linear") -> None:
        super().__init__()
        self.linear_layer = nn.Linear(in_dim, out_dim, bias=bias)
        nn.init.xavier_uniform_(self.linear_layer.weight, gain=nn.init.calculate_gain(w_init_gain))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer(x)


class ConvNorm(nn.Module):
    """``nn.Conv1d`` (as ``conv``), 'same' padding by default, Xavier-uniform initialisation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=bias)
        nn.init.xavier_uniform_(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ConvBlock(nn.Module):
    """Three residual units (dilation 1, 3, 9): conv, ReLU, GroupNorm(8), dropout, conv, ReLU, dropout."""

    def __init__(self, hidden_dim: int, n_conv: int = 3, dropout_p: float = 0.2) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                ConvNorm(hidden_dim, hidden_dim, kernel_size=3, padding=3**i, dilation=3**i),
                nn.ReLU(),
                nn.GroupNorm(num_groups=8, num_channels=hidden_dim),
                nn.Dropout(dropout_p),
                ConvNorm(hidden_dim, hidden_dim, kernel_size=3),
                nn.ReLU(),
                nn.Dropout(dropout_p),
            )
            for i in range(n_conv)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + block(x)
        return x


def dct_matrix(n_mfcc: int, n_mels: int) -> torch.Tensor:
    """Orthonormal DCT-II as a [n_mels, n_mfcc] matrix (``mel^T @ dct`` gives MFCCs)."""
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64)[:, None]
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
    dct[0] /= math.sqrt(2.0)
    return dct.T.float().contiguous()


class MFCC(nn.Module):
    """Log-mel [B, n_mels, T] to cepstra [B, n_mfcc, T] (the ``dct_mat`` buffer is saved with the model)."""

    def __init__(self, n_mfcc: int = 40, n_mels: int = 80) -> None:
        super().__init__()
        self.register_buffer("dct_mat", dct_matrix(n_mfcc, n_mels))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.matmul(mel.transpose(1, 2), self.dct_mat).transpose(1, 2)


class LocationLayer(nn.Module):
    """Features of the previous and cumulative attention weights [B, 2, T] -> [B, T, attention_dim]."""

    def __init__(self, n_filters: int, kernel_size: int, attention_dim: int) -> None:
        super().__init__()
        self.location_conv = ConvNorm(2, n_filters, kernel_size=kernel_size, bias=False)
        self.location_dense = LinearNorm(n_filters, attention_dim, bias=False, w_init_gain="tanh")

    def forward(self, weights_cat: torch.Tensor) -> torch.Tensor:
        return self.location_dense(self.location_conv(weights_cat).transpose(1, 2))


class Attention(nn.Module):
    """Tacotron-2 location-sensitive attention; weights are a softmax over the memory (frame) axis."""

    def __init__(self, query_dim: int, memory_dim: int, attention_dim: int, n_filters: int, kernel_size: int) -> None:
        super().__init__()
        self.query_layer = LinearNorm(query_dim, attention_dim, bias=False, w_init_gain="tanh")
        self.memory_layer = LinearNorm(memory_dim, attention_dim, bias=False, w_init_gain="tanh")
        self.v = LinearNorm(attention_dim, 1, bias=False)
        self.location_layer = LocationLayer(n_filters, kernel_size, attention_dim)

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        weights_cat: torch.Tensor,
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Context [B, memory_dim] and weights [B, T]; ``mask`` is True at padded frames."""
        energies = self.v(
            torch.tanh(self.query_layer(query[:, None]) + self.location_layer(weights_cat) + processed_memory)
        ).squeeze(-1)
        if mask is not None:
            energies = energies.masked_fill(mask, -float("inf"))
        weights = torch.softmax(energies, dim=1)
        return torch.bmm(weights[:, None], memory).squeeze(1), weights
