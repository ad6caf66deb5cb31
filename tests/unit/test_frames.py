"""Animated uploads: which frames are analysed, the limits checked before any frame is
decoded, and how per-frame signals combine."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from common import frames, images
from common.images import AnimationRules, Rejection
from local.tools.fixtures import tiny_frame_gif
from local.tools.safe_images import FRAME_SPAM_LINES, encode_animation, spam_animation


def test_all_frames_when_they_fit_the_budget():
    assert frames.choose(5, {}, 8) == [0, 1, 2, 3, 4]


def test_first_last_and_evenly_spaced_without_scene_changes():
    chosen = frames.choose(100, {i: 0.001 for i in range(1, 100)}, 8)
    assert chosen == [0, 14, 28, 42, 57, 71, 85, 99]


def test_a_frame_shown_once_is_chosen_by_its_scene_change():
    changes = {i: 0.005 for i in range(1, 300)}
    changes[137] = changes[138] = 0.46  # frame 137 differs from both neighbours
    chosen = frames.choose(300, changes, 8)
    assert 137 in chosen and 138 in chosen
    assert chosen[0] == 0 and chosen[-1] == 299 and len(chosen) == 8


def test_scene_changes_take_at_most_half_of_the_budget():
    changes = {i: 0.5 for i in range(1, 100)}  # every frame is a cut
    chosen = frames.choose(100, changes, 10)
    assert len(chosen) == 10
    assert [i for i in chosen if i not in frames.even_grid(100, 10)] == [1, 2, 3, 4]


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_the_spam_frame_of_each_format_is_sampled(fmt):
    data = spam_animation(fmt, count=24, spam_at=13)
    sampled = frames.sample(data, AnimationRules(max_frames=6))
    assert sampled.count == 24 and len(sampled.frames) == 6
    assert 13 in sampled.indices and sampled.indices[0] == 0 and sampled.indices[-1] == 23
    spam = sampled.frames[sampled.indices.index(13)].image
    assert spam.size == (400, 300)
    assert spam.convert("L").getpixel((5, 5)) > 240  # the white card, not the photo
    assert sampled.record() == {"count": 24, "analyzed": sampled.indices, "policy": "analyze"}
    assert FRAME_SPAM_LINES  # the card's text is what the model tier reads


def test_first_frame_only_samples_frame_zero_and_records_the_count():
    sampled = frames.sample(spam_animation("GIF"), AnimationRules(policy="first-frame-only"))
    assert sampled.indices == [0] and sampled.count == 12 and sampled.animated


def test_a_still_image_is_one_frame_as_before():
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), "red").save(buf, "PNG")
    sampled = frames.sample(buf.getvalue(), AnimationRules())
    assert sampled.count == 1 and sampled.indices == [0] and not sampled.animated


def test_the_gif_frame_count_stops_at_the_limit_without_decoding():
    data = tiny_frame_gif(10_000)
    started = time.perf_counter()
    assert images.gif_frame_count(data) == images.MAX_FRAMES + 1
    assert time.perf_counter() - started < 0.5
    assert images.gif_frame_count(tiny_frame_gif(7)) == 7


def test_a_gif_of_ten_thousand_tiny_frames_is_refused_cheaply():
    started = time.perf_counter()
    with pytest.raises(Rejection) as refused:
        images.inspect(tiny_frame_gif(10_000), "image/gif", 10_000_000)
    assert time.perf_counter() - started < 1.0
    assert (refused.value.status, refused.value.error) == (400, "too_many_frames")


def test_frames_times_canvas_over_the_decode_budget_is_refused_before_decoding():
    # 900 frames of a 600x400 canvas: 216 million pixels to decode, each frame 1x1 on disk.
    with pytest.raises(Rejection) as refused:
        images.inspect(tiny_frame_gif(900, (600, 400)), "image/gif", 10_000_000)
    assert refused.value.error == "animation_too_large"
    assert str(images.MAX_DECODED_PIXELS) in refused.value.message


def test_the_sampled_frames_pixels_are_limited():
    # 6000x4000 = 24 MP: one frame is allowed, two sampled frames (48 MP) are not.
    data = tiny_frame_gif(3, (6000, 4000))
    with pytest.raises(Rejection) as refused:
        images.inspect(data, "image/gif", 10_000_000)
    assert refused.value.error == "animation_too_large"
    assert "40000000" in refused.value.message
    first_only = AnimationRules(policy="first-frame-only")
    assert images.inspect(data, "image/gif", 10_000_000, first_only).frames == 3


def test_the_reject_policy_refuses_animations_with_415_and_keeps_still_images():
    rules = AnimationRules(policy="reject")
    with pytest.raises(Rejection) as refused:
        images.inspect(spam_animation("WEBP"), "image/webp", 10_000_000, rules)
    assert (refused.value.status, refused.value.error) == (415, "animation_not_accepted")
    still = io.BytesIO()
    Image.new("RGB", (120, 90), "red").save(still, "GIF")
    assert images.inspect(still.getvalue(), "image/gif", 10_000_000, rules).frames == 1


def test_a_truncated_later_frame_is_refused_at_upload():
    clip = [Image.effect_noise((200, 150), 60 + i).convert("RGB") for i in range(6)]
    data = encode_animation(clip, "GIF")
    cut = data[: int(len(data) * 0.8)] + b"\x3b"
    with pytest.raises(Rejection) as refused:
        images.inspect(cut, "image/gif", 10_000_000)
    assert refused.value.error == "invalid_image"


def test_per_category_the_most_severe_frame_is_kept_and_recorded():
    merged = frames.merge_signals(
        [
            (0, [{"category": "nsfw", "score": 0.1, "evidence": ["a"]}]),
            (5, [{"category": "nsfw", "score": 0.9, "evidence": ["b"]},
                 {"category": "spam_link", "score": 0.97, "evidence": ["url x"]}]),
            (9, [{"category": "nsfw", "score": 0.4, "evidence": []}]),
        ]
    )  # fmt: skip
    by = {s["category"]: s for s in merged}
    assert by["nsfw"]["score"] == 0.9 and by["nsfw"]["frame"] == 5
    assert by["nsfw"]["evidence"] == ["frame 5: b"]
    assert by["spam_link"]["frame"] == 5


def test_a_whole_image_category_needs_every_frame():
    one_blank = [(0, []), (4, [{"category": "off_topic", "score": 1.0, "evidence": []}])]
    assert frames.merge_signals(one_blank, ("off_topic",)) == []
    all_blank = [(i, [{"category": "off_topic", "score": 1.0, "evidence": []}]) for i in (0, 4)]
    assert [s["frame"] for s in frames.merge_signals(all_blank, ("off_topic",))] == [0]
