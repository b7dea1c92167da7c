"""aligner.search.marks: stress and length marks hold one frame, the phone they mark the rest."""

import torch

from aligner.search.marks import MarkGroup, mark_groups, settle, share_rows
from aligner.search.mas import batched_mas
from aligner.text import intersperse, phonemes_to_ids


def tokens(ipa: str) -> list[int]:
    return intersperse(phonemes_to_ids(ipa))


def test_a_stress_mark_groups_with_the_vowel_after_it_and_a_length_mark_with_the_vowel_before():
    # _ p _ ɹ _ ˈ _ ɛ _ s _     and     _ ɡ _ ˈ _ ɑ _ ː _ d _
    assert mark_groups(tokens("pɹˈɛs")) == [MarkGroup(5, 7, 7)]
    assert mark_groups(tokens("ɡˈɑːd")) == [MarkGroup(3, 7, 5)]


def test_a_mark_beside_a_pause_has_no_phone_and_stays_alone():
    assert mark_groups(tokens("a ˈ")) == []
    assert mark_groups(tokens("ː a")) == []


def test_settle_gives_the_phone_every_frame_but_one_per_mark_and_inner_blank():
    durations = torch.tensor([2, 1, 1, 4, 1, 3, 1, 1, 2])  # ... ˈ(4) _(1) ɛ(3) ...
    settled = settle(durations, [MarkGroup(3, 5, 5)])
    assert settled.tolist() == [2, 1, 1, 1, 1, 6, 1, 1, 2]
    assert durations[3] == 4, "the input is not changed"


def test_mas_with_groups_gives_the_mark_one_frame_where_scored_it_takes_the_vowel_onset():
    ids = tokens("ˈa")  # _ ˈ _ a _
    frames = 10
    scores = torch.full((5, frames), -10.0)
    scores[0, :2] = 0.0  # silence, frames 0-1
    scores[1, 2:5] = 0.0  # the mark's own row scores the vowel onset best (frames 2-4)
    scores[3, 2:8] = -1.0  # the vowel, frames 2-7
    scores[4, 8:] = 0.0  # silence, frames 8-9
    (scored,) = batched_mas([scores])
    (one_frame,) = batched_mas([scores], [mark_groups(ids)])
    assert scored.tolist()[1] >= 3, "scored: the mark takes the onset frames"
    assert one_frame.tolist() == [2, 1, 1, 4, 2]  # the group (frames 2-7) keeps its place: ˈ 1, _ 1, a 4
    assert share_rows(scores, mark_groups(ids))[1].tolist() == scores[3].tolist()
