"""StyleTTS2's ASR aligner (``Utils/ASR/models.py``): a CNN encoder with a CTC head and an attention decoder.

Module and parameter names are StyleTTS2's, so its ``epoch_00080.pth`` loads strictly. One deliberate
difference: upstream replaces ~10 % of the input tokens by ``unk`` (id 3) on every call; here only in
training mode, so inference (``model.eval()``) is deterministic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aligner.asrcnn.layers import MFCC, Attention, ConvBlock, ConvNorm, LinearNorm


class ASRCNN(nn.Module):
    """Normalised log-mel [B, 80, T] -> CTC logits [B, T/2, n_token] (and, given text, the decoder's
    logits and attention over the T/2 encoder frames)."""

    def __init__(
        self,
        input_dim: int = 80,
        hidden_dim: int = 256,
        n_token: int = 35,
        n_layers: int = 6,
        token_embedding_dim: int = 256,
    ) -> None:
        super().__init__()
        self.n_token = n_token
        self.n_down = 1
        self.to_mfcc = MFCC(n_mfcc=input_dim // 2, n_mels=input_dim)
        self.init_cnn = ConvNorm(input_dim // 2, hidden_dim, kernel_size=7, padding=3, stride=2)
        self.cnns = nn.Sequential(
            *[nn.Sequential(ConvBlock(hidden_dim), nn.GroupNorm(1, hidden_dim)) for _ in range(n_layers)]
        )
        self.projection = ConvNorm(hidden_dim, hidden_dim // 2)
        self.ctc_linear = nn.Sequential(
            LinearNorm(hidden_dim // 2, hidden_dim), nn.ReLU(), LinearNorm(hidden_dim, n_token)
        )
        self.asr_s2s = ASRS2S(embedding_dim=token_embedding_dim, hidden_dim=hidden_dim // 2, n_token=n_token)

    def forward(
        self, x: torch.Tensor, src_key_padding_mask: torch.Tensor | None = None, text_input: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``src_key_padding_mask`` [B, T/2] is True at padded encoder frames; ``text_input`` [B, L] token ids.
        Returns ``ctc_logit``, or ``(ctc_logit, s2s_logit [B, L+1, n_token], s2s_attn [B, L+1, T/2])``."""
        x = self.projection(self.cnns(self.init_cnn(self.to_mfcc(x)))).transpose(1, 2)
        ctc_logit = self.ctc_linear(x)
        if text_input is None:
            return ctc_logit
        s2s_logit, s2s_attn = self.asr_s2s(x, src_key_padding_mask, text_input)
        return ctc_logit, s2s_logit, s2s_attn


class ASRS2S(nn.Module):
    """LSTM decoder reading [sos] + text, one step per token, with location-sensitive attention."""

    sos = 1
    unk_index = 3
    random_mask = 0.1

    def __init__(
        self,
        embedding_dim: int = 256,
        hidden_dim: int = 512,
        n_location_filters: int = 32,
        location_kernel_size: int = 63,
        n_token: int = 40,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_token, embedding_dim)
        bound = math.sqrt(6 / hidden_dim)
        nn.init.uniform_(self.embedding.weight, -bound, bound)
        self.decoder_rnn_dim = hidden_dim
        self.project_to_n_symbols = nn.Linear(hidden_dim, n_token)
        self.attention_layer = Attention(hidden_dim, hidden_dim, hidden_dim, n_location_filters, location_kernel_size)
        self.decoder_rnn = nn.LSTMCell(hidden_dim + embedding_dim, hidden_dim)
        self.project_to_hidden = nn.Sequential(LinearNorm(hidden_dim * 2, hidden_dim), nn.Tanh())

    def forward(
        self, memory: torch.Tensor, memory_mask: torch.Tensor | None, text_input: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """memory [B, T, H], memory_mask [B, T] (True = padding), text_input [B, L] ->
        (logits [B, L+1, n_token], attention [B, L+1, T])."""
        batch, frames, _ = memory.shape
        if self.training:
            masked = torch.rand(text_input.shape, device=text_input.device) < self.random_mask
            text_input = text_input.masked_fill(masked, self.unk_index)
        start = torch.full((batch, 1), self.sos, dtype=text_input.dtype, device=text_input.device)
        inputs = self.embedding(torch.cat([start, text_input], dim=1)).transpose(0, 1)  # [L+1, B, E]

        hidden = memory.new_zeros(batch, self.decoder_rnn_dim)
        cell = memory.new_zeros(batch, self.decoder_rnn_dim)
        weights = memory.new_zeros(batch, frames)
        weights_cum = memory.new_zeros(batch, frames)
        context = memory.new_zeros(batch, memory.shape[2])
        processed_memory = self.attention_layer.memory_layer(memory)
        logits, alignments = [], []
        for step_input in inputs:
            hidden, cell = self.decoder_rnn(torch.cat([step_input, context], -1), (hidden, cell))
            weights_cat = torch.stack([weights, weights_cum], dim=1)
            context, weights = self.attention_layer(hidden, memory, processed_memory, weights_cat, memory_mask)
            weights_cum = weights_cum + weights
            projected = self.project_to_hidden(torch.cat([hidden, context], -1))
            logits.append(self.project_to_n_symbols(F.dropout(projected, 0.5, self.training)))
            alignments.append(weights)
        return torch.stack(logits, dim=1), torch.stack(alignments, dim=1)
