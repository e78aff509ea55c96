"""The prompt bank: many phrasings of each task, for training and for held-out evaluation.

A *task* is ``"fusion"`` (clean inputs, neutral prompt), a degradation name from
:data:`textif.data.degradations.DEGRADATIONS`, or a composite ``"a+b"`` (see
:data:`~textif.data.degradations.COMPOSITES`). :data:`TASKS` lists them all.

Sentences are built from templates x paraphrase lists (image nouns, problem
predicates per severity band, requests, adjectives, degradation terms): short and long,
casual and technical. Two disjoint banks exist:

* ``"train"``: what training samples from;
* ``"heldout"``: other templates and other wordings (other nouns, predicates, requests),
  never shown in training, for measuring how well the text encoder generalises.
  Any held-out sentence that happens to equal a training one (after lower-casing and
  dropping punctuation) is removed, so the two are disjoint.

Each bank maps ``task -> band -> sentences`` where band is ``"any"`` (no intensity
stated) or ``"mild"``, ``"moderate"``, ``"severe"`` (wording that states how strong the
degradation is, matching :func:`~textif.data.degradations.severity_band`).
Banks are built once, lazily, and deterministically.
"""
from __future__ import annotations

import functools
import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence, Union

import torch

from textif.core.errors import TextIFError
from textif.core.registry import Registry
from textif.data.degradations import (
    COMPOSITES,
    DEGRADATIONS,
    NEUTRAL_TASK,
    SEVERITY_BANDS,
    composite_name,
    severity_band,
    split_task,
)

__all__ = [
    "NEUTRAL_PROMPT",
    "TASKS",
    "SPLITS",
    "PromptError",
    "sample_prompt",
    "all_prompts",
    "heldout_prompts",
    "train_prompts",
    "suggested_prompts",
    "task_from_text",
    "bank_counts",
]

#: The default prompt for clean inputs (what inference uses when no text is given).
NEUTRAL_PROMPT = "Fuse the infrared and visible images."

#: Every task name: ``"fusion"``, each degradation, each composite ``"a+b"``.
TASKS: tuple[str, ...] = (NEUTRAL_TASK, *DEGRADATIONS.names(), *COMPOSITES)

SPLITS = ("train", "heldout")
Split = Literal["train", "heldout"]
Rng = Union[torch.Generator, random.Random, None]

_TASK_REGISTRY: Registry[str] = Registry("task")
for _t in TASKS:
    _TASK_REGISTRY.add(_t, _t)


class PromptError(TextIFError, ValueError):
    """Bad argument to a prompt-bank function."""


# ----------------------------------------------------------------------------- word lists

_NOUNS = {
    "vis": {
        "train": ["visible image", "visible-light image", "RGB image", "color image", "visible input",
                  "visible frame"],
        "heldout": ["visible photo", "daylight picture", "colour photograph", "optical camera view"],
    },
    "ir": {
        "train": ["infrared image", "thermal image", "IR image", "infrared input", "thermal frame",
                  "infrared frame"],
        "heldout": ["thermogram", "heat picture", "long-wave infrared view", "IR capture"],
    },
}


@dataclass(frozen=True)
class _Words:
    """Paraphrase lists for one degradation and one split.

    preds: predicates after "the <noun>" per band ("any", "mild", "moderate", "severe").
    fixes: noun-free requests ("enhance the brightness"); reqs: requests naming the image
    through ``{noun}``; tags: adjectives before the noun; terms: noun phrases for the
    degradation itself.
    """

    preds: dict[str, list[str]]
    fixes: list[str]
    reqs: list[str]
    tags: list[str]
    terms: list[str]


@dataclass(frozen=True)
class _Spec:
    modality: str
    train: _Words
    heldout: _Words = field(repr=False)


_SPECS: dict[str, _Spec] = {
    "low_light": _Spec(
        "vis",
        _Words(
            preds={
                "any": ["is too dark", "is underexposed", "was taken in low light", "is dim",
                        "suffers from low-light degradation", "lacks illumination", "has poor lighting",
                        "was captured at night with little light"],
                "mild": ["is a bit dark", "is slightly underexposed", "is somewhat dim",
                         "could be a little brighter"],
                "moderate": ["is quite dark", "is noticeably underexposed", "is fairly dim",
                             "was taken in rather low light"],
                "severe": ["is extremely dark", "is almost black", "was captured in very low light",
                           "is severely underexposed"],
            },
            fixes=["enhance the brightness", "brighten it", "improve the illumination", "boost the exposure",
                   "lighten the dark regions", "recover the details hidden in the shadows"],
            reqs=["brighten the {noun}", "enhance the brightness of the {noun}",
                  "improve the illumination of the {noun}", "correct the underexposure of the {noun}",
                  "recover the dark details of the {noun}"],
            tags=["low-light", "underexposed", "dark", "night-time"],
            terms=["low light", "low-light degradation", "insufficient illumination", "underexposure"],
        ),
        _Words(
            preds={
                "any": ["looks way too gloomy", "is shot in near darkness", "has hardly any light in it"],
                "mild": ["is a touch too shadowy"],
                "moderate": ["is rather gloomy"],
                "severe": ["is pitch dark", "is nearly invisible because of the darkness"],
            },
            fixes=["lift the shadows", "make it lighter"],
            reqs=["make the {noun} lighter", "lift the shadows in the {noun}",
                  "raise the exposure level of the {noun}"],
            tags=["gloomy", "poorly lit"],
            terms=["poor lighting conditions", "a lack of light", "nighttime darkness"],
        ),
    ),
    "overexposure": _Spec(
        "vis",
        _Words(
            preds={
                "any": ["is overexposed", "is too bright", "has blown-out highlights", "is washed out",
                        "suffers from overexposure degradation", "has saturated highlights",
                        "is overly bright"],
                "mild": ["is slightly overexposed", "is a bit too bright", "has a few clipped highlights",
                         "is somewhat washed out"],
                "moderate": ["is quite overexposed", "is noticeably too bright", "has many clipped highlights",
                             "is fairly washed out"],
                "severe": ["is extremely overexposed", "is almost completely white", "is heavily blown out",
                           "is severely overexposed"],
            },
            fixes=["reduce the brightness", "recover the highlights", "correct the exposure",
                   "restore the overexposed regions", "tone down the highlights", "bring back the lost details"],
            reqs=["reduce the brightness of the {noun}", "recover the highlights in the {noun}",
                  "correct the overexposure of the {noun}", "restore the blown-out areas of the {noun}",
                  "tone down the {noun}"],
            tags=["overexposed", "too bright", "washed-out", "blown-out"],
            terms=["overexposure", "overexposure degradation", "excessive exposure", "blown highlights"],
        ),
        _Words(
            preds={
                "any": ["got way too much light", "is bleached by the sun", "is glaring white in places"],
                "mild": ["is a touch too light"],
                "moderate": ["is rather glaring"],
                "severe": ["is practically pure white", "is totally burnt out"],
            },
            fixes=["darken the glare", "pull back the exposure"],
            reqs=["darken the glaring parts of the {noun}", "pull back the exposure of the {noun}",
                  "fix the burnt-out areas of the {noun}"],
            tags=["glaring", "sun-bleached"],
            terms=["too much light", "excessive glare", "sensor saturation"],
        ),
    ),
    "noise": _Spec(
        "vis",
        _Words(
            preds={
                "any": ["is noisy", "contains random noise", "is corrupted by noise", "is grainy",
                        "suffers from Gaussian noise", "has noise all over it"],
                "mild": ["is slightly noisy", "has a little noise", "is a bit grainy", "has faint noise"],
                "moderate": ["is quite noisy", "has noticeable noise", "is fairly grainy",
                             "is clearly corrupted by noise"],
                "severe": ["is extremely noisy", "is heavily corrupted by noise", "is buried in noise",
                           "is very grainy"],
            },
            fixes=["remove the noise", "denoise it", "suppress the noise", "clean up the noise",
                   "reduce the graininess"],
            reqs=["denoise the {noun}", "remove the noise from the {noun}", "suppress the noise in the {noun}",
                  "clean the noise out of the {noun}", "reduce the noise of the {noun}"],
            tags=["noisy", "grainy", "noise-corrupted"],
            terms=["random noise", "Gaussian noise", "noise degradation", "sensor noise"],
        ),
        _Words(
            preds={
                "any": ["looks speckled all over", "shows lots of static", "is full of speckles"],
                "mild": ["has a faint speckle"],
                "moderate": ["shows a fair amount of static"],
                "severe": ["is drowning in speckles", "is nothing but static"],
            },
            fixes=["get rid of the speckles", "smooth out the static"],
            reqs=["get rid of the speckles in the {noun}", "smooth out the static in the {noun}",
                  "filter the speckle out of the {noun}"],
            tags=["speckled", "staticky"],
            terms=["speckle", "static", "pixel noise"],
        ),
    ),
    "blur": _Spec(
        "vis",
        _Words(
            preds={
                "any": ["is blurry", "is out of focus", "is blurred", "has motion blur", "is not sharp",
                        "suffers from blur degradation"],
                "mild": ["is slightly blurry", "is a bit out of focus", "is a little soft", "is mildly blurred"],
                "moderate": ["is quite blurry", "is noticeably out of focus", "is fairly blurred",
                             "has clear motion blur"],
                "severe": ["is extremely blurry", "is badly out of focus", "is heavily blurred",
                           "is smeared by strong motion blur"],
            },
            fixes=["deblur it", "sharpen it", "restore the sharp details", "remove the blur",
                   "recover the fine edges"],
            reqs=["deblur the {noun}", "sharpen the {noun}", "remove the blur from the {noun}",
                  "restore the details of the blurry {noun}", "bring the {noun} into focus"],
            tags=["blurry", "blurred", "out-of-focus", "defocused"],
            terms=["blur", "blur degradation", "defocus blur", "motion blur"],
        ),
        _Words(
            preds={
                "any": ["looks fuzzy and soft", "is smudged", "has smeared edges"],
                "mild": ["is a touch soft"],
                "moderate": ["looks rather smudged"],
                "severe": ["is a smeary mess", "has no crisp edge left"],
            },
            fixes=["make it crisp", "undo the smearing"],
            reqs=["make the {noun} crisp again", "undo the smearing in the {noun}",
                  "recover crisp edges in the {noun}"],
            tags=["smudged", "fuzzy"],
            terms=["camera shake", "lens defocus", "smearing"],
        ),
    ),
    "haze": _Spec(
        "vis",
        _Words(
            preds={
                "any": ["is hazy", "is foggy", "is covered by haze", "is degraded by fog",
                        "suffers from haze", "looks misty"],
                "mild": ["is slightly hazy", "has a light haze", "is a bit foggy", "has thin fog"],
                "moderate": ["is quite hazy", "has noticeable fog", "is fairly misty", "is clearly hazy"],
                "severe": ["is extremely hazy", "is covered by dense fog", "is buried in thick haze",
                           "is heavily fogged"],
            },
            fixes=["remove the haze", "dehaze it", "clear the fog", "restore the visibility",
                   "cut through the haze"],
            reqs=["dehaze the {noun}", "remove the haze from the {noun}", "clear the fog in the {noun}",
                  "restore the visibility of the {noun}", "remove the fog from the {noun}"],
            tags=["hazy", "foggy", "misty"],
            terms=["haze", "fog", "haze degradation", "atmospheric haze"],
        ),
        _Words(
            preds={
                "any": ["sits behind a veil of smog", "looks milky and murky", "is swallowed by smog"],
                "mild": ["has a faint milky veil"],
                "moderate": ["is rather murky"],
                "severe": ["is almost lost in the smog", "is whited out by the murk"],
            },
            fixes=["lift the veil", "clear the murk"],
            reqs=["lift the milky veil from the {noun}", "clear the murk in the {noun}",
                  "take the smog out of the {noun}"],
            tags=["smoggy", "murky"],
            terms=["smog", "murky air", "a milky veil"],
        ),
    ),
    "rain": _Spec(
        "vis",
        _Words(
            preds={
                "any": ["has rain streaks", "is degraded by rain", "was taken in the rain",
                        "is covered with rain streaks", "suffers from rain degradation", "is rainy"],
                "mild": ["has a few rain streaks", "has light rain", "is slightly rainy", "has faint rain streaks"],
                "moderate": ["has many rain streaks", "has noticeable rain", "is quite rainy",
                             "is clearly streaked by rain"],
                "severe": ["has heavy rain streaks", "is covered in dense rain", "was taken in a downpour",
                           "is severely degraded by rain"],
            },
            fixes=["remove the rain", "derain it", "remove the rain streaks", "clean off the rain",
                   "erase the streaks"],
            reqs=["derain the {noun}", "remove the rain streaks from the {noun}",
                  "remove the rain from the {noun}", "clean the rain off the {noun}",
                  "erase the rain streaks in the {noun}"],
            tags=["rainy", "rain-streaked", "wet"],
            terms=["rain", "rain streaks", "rain degradation", "rainfall"],
        ),
        _Words(
            preds={
                "any": ["is full of falling drops", "shows streaks of drizzle", "is spoiled by a shower"],
                "mild": ["shows a light drizzle"],
                "moderate": ["shows a steady shower"],
                "severe": ["is lashed by a storm", "is drenched in a torrential shower"],
            },
            fixes=["wipe away the drops", "get rid of the drizzle"],
            reqs=["wipe the drops off the {noun}", "get rid of the drizzle in the {noun}",
                  "clear the falling drops from the {noun}"],
            tags=["drizzly", "stormy"],
            terms=["drizzle", "a rain shower", "falling raindrops"],
        ),
    ),
    "ir_low_contrast": _Spec(
        "ir",
        _Words(
            preds={
                "any": ["has low contrast", "is low in contrast", "looks flat", "lacks contrast",
                        "suffers from low contrast degradation", "has poor contrast"],
                "mild": ["has slightly low contrast", "is a bit flat", "has somewhat weak contrast",
                         "could use a little more contrast"],
                "moderate": ["has quite low contrast", "is noticeably flat", "has fairly weak contrast",
                             "clearly lacks contrast"],
                "severe": ["has extremely low contrast", "is almost uniformly gray", "has very poor contrast",
                           "is completely flat"],
            },
            fixes=["enhance the contrast", "increase the contrast", "stretch the contrast",
                   "make the targets stand out", "improve the contrast"],
            reqs=["enhance the contrast of the {noun}", "increase the contrast of the {noun}",
                  "improve the contrast in the {noun}", "stretch the intensity range of the {noun}",
                  "make the targets in the {noun} stand out"],
            tags=["low-contrast", "flat", "dull"],
            terms=["low contrast", "low contrast degradation", "weak contrast", "poor contrast"],
        ),
        _Words(
            preds={
                "any": ["looks washed-out and grey", "has targets that blend into the background",
                        "shows barely any difference between hot and cold"],
                "mild": ["is a touch greyish"],
                "moderate": ["looks rather greyish"],
                "severe": ["is one uniform shade of grey", "shows no temperature differences at all"],
            },
            fixes=["separate hot objects from the background", "widen the tonal range"],
            reqs=["widen the tonal range of the {noun}", "make hot objects in the {noun} pop",
                  "separate the warm targets from the background in the {noun}"],
            tags=["greyish", "muddy"],
            terms=["a compressed dynamic range", "weak thermal contrast", "washed-out tones"],
        ),
    ),
    "ir_noise": _Spec(
        "ir",
        _Words(
            preds={
                "any": ["is noisy", "contains random noise", "is corrupted by noise", "is grainy",
                        "suffers from noise degradation", "has noise all over it"],
                "mild": ["is slightly noisy", "has a little noise", "is a bit grainy", "has faint noise"],
                "moderate": ["is quite noisy", "has noticeable noise", "is fairly grainy",
                             "is clearly corrupted by noise"],
                "severe": ["is extremely noisy", "is heavily corrupted by noise", "is buried in noise",
                           "is very grainy"],
            },
            fixes=["remove the noise", "denoise it", "suppress the noise", "clean up the noise",
                   "reduce the graininess"],
            reqs=["denoise the {noun}", "remove the noise from the {noun}", "suppress the noise in the {noun}",
                  "clean the noise out of the {noun}", "reduce the noise of the {noun}"],
            tags=["noisy", "grainy", "noise-corrupted"],
            terms=["random noise", "thermal noise", "noise degradation", "sensor noise"],
        ),
        _Words(
            preds={
                "any": ["looks speckled all over", "shows lots of static", "is full of speckles"],
                "mild": ["has a faint speckle"],
                "moderate": ["shows a fair amount of static"],
                "severe": ["is drowning in speckles", "is nothing but static"],
            },
            fixes=["get rid of the speckles", "smooth out the static"],
            reqs=["get rid of the speckles in the {noun}", "smooth out the static in the {noun}",
                  "filter the speckle out of the {noun}"],
            tags=["speckled", "staticky"],
            terms=["speckle", "static", "detector noise"],
        ),
    ),
    "ir_stripe": _Spec(
        "ir",
        _Words(
            preds={
                "any": ["has stripe noise", "shows vertical stripes", "suffers from stripe noise",
                        "has column noise", "is corrupted by stripes", "has fixed-pattern stripe noise"],
                "mild": ["has faint stripes", "has slight stripe noise", "shows a few weak stripes",
                         "has mild column noise"],
                "moderate": ["has noticeable stripes", "has clear stripe noise", "shows fairly strong stripes",
                             "has obvious column noise"],
                "severe": ["has heavy stripe noise", "is covered in strong stripes", "has severe column noise",
                           "is dominated by stripes"],
            },
            fixes=["remove the stripes", "destripe it", "remove the stripe noise", "suppress the column noise",
                   "clean up the stripes"],
            reqs=["remove the stripe noise from the {noun}", "destripe the {noun}",
                  "remove the stripes in the {noun}", "suppress the column noise of the {noun}",
                  "correct the fixed-pattern noise of the {noun}"],
            tags=["striped", "stripe-corrupted", "streaky"],
            terms=["stripe noise", "column noise", "fixed-pattern noise", "stripe degradation"],
        ),
        _Words(
            preds={
                "any": ["is covered in thin vertical lines", "has a barcode-like pattern",
                        "shows non-uniformity banding"],
                "mild": ["has a faint barcode pattern"],
                "moderate": ["shows fairly obvious banding"],
                "severe": ["looks like a barcode", "is ruined by banding"],
            },
            fixes=["flatten the banding", "even out the columns"],
            reqs=["flatten the banding in the {noun}", "even out the columns of the {noun}",
                  "correct the sensor non-uniformity of the {noun}"],
            tags=["banded", "barcode-like"],
            terms=["banding", "detector non-uniformity", "vertical line artefacts"],
        ),
    ),
}

# Templates. Keys: {noun} (image with the problem), {other} (other modality), {pred}, {fix},
# {req}, {tag}, {term}. A template with {pred} goes to the band of its predicate; others to "any".
_SINGLE_TEMPLATES = {
    "train": [
        "The {noun} {pred}.",
        "The {noun} {pred}, please {fix}.",
        "{tag} {noun}, please {fix}.",
        "Please {req}.",
        "{req} and fuse it with the {other}.",
        "Fuse the infrared and visible images and {req}.",
        "In the context of infrared-visible image fusion, the {noun} {pred}.",
        "This is an infrared and visible image fusion task where the {noun} suffers from {term}.",
        "Fusion task: {term} in the {noun}.",
        "The {noun} {pred}; {fix} while fusing.",
        "{tag} {noun}.",
        "Handle the {term} in the {noun} and produce a clean fused image.",
    ],
    "heldout": [
        "Could you {req} for me?",
        "I notice that the {noun} {pred}. Can you fix that?",
        "My {noun} {pred}, so the merged result should compensate for it.",
        "Because of {term}, the {noun} needs restoring before the two images are merged.",
        "Help: {term} in my {noun}!",
        "Would you {req} and then merge both modalities?",
        "We have {term} on the {noun} side; deal with it during the merge.",
        "{tag} {noun} here, it needs correcting; also {fix}.",
    ],
}

_CROSS_TEMPLATES = {
    "train": [
        "The {nounA} {predA} and the {nounB} {predB}.",
        "The {nounA} {predA}, while the {nounB} {predB}.",
        "Please {reqA} and {reqB}.",
        "{tagA} {nounA} and {tagB} {nounB}, please fix both.",
        "In the context of infrared-visible image fusion, the {nounA} {predA} and the {nounB} {predB}.",
        "Fusion task with {termA} in the {nounA} and {termB} in the {nounB}.",
    ],
    "heldout": [
        "Two issues: the {nounA} {predA}, and the {nounB} {predB}.",
        "Could you {reqA} and also {reqB}?",
        "Because of {termA} and {termB}, both inputs need restoring before the merge.",
    ],
}

_SAME_TEMPLATES = {
    "train": [
        "The {noun} {predA} and {predB}.",
        "Please {reqA} and {reqB}.",
        "The {noun} suffers from both {termA} and {termB}.",
        "Fusion task: {termA} and {termB} in the {noun}.",
        "{tagA} and {tagB} {noun}, please {fixA} and {fixB}.",
    ],
    "heldout": [
        "Two issues in the {noun}: {termA} plus {termB}.",
        "Could you {reqA} and also {reqB}?",
        "My {noun} {predA}, and on top of that it {predB}.",
    ],
}

_NEUTRAL_TEMPLATES = {
    "train": [
        "Fuse the {ir} and the {vis}.",
        "Combine the {ir} with the {vis}.",
        "Merge the {vis} and the {ir} into one image.",
        "Generate a fused image from the {ir} and the {vis}.",
        "Fuse the {ir} and the {vis}, keeping thermal targets and visible details.",
        "Standard fusion of the {ir} and the {vis}.",
    ],
    "heldout": [
        "Could you blend the {ir} and the {vis} together?",
        "I'd like one picture that joins the {vis} with the {ir}.",
    ],
}

_NEUTRAL_FIXED = {
    "train": [
        NEUTRAL_PROMPT,
        "Fuse the infrared and visible images",
        "Infrared and visible image fusion.",
        "Please perform infrared-visible image fusion.",
        "This is the infrared and visible light image fusion task.",
        "Fuse the two images.",
        "No degradation, just fuse the images.",
        "The images are clean; fuse them.",
        "Fuse both images, keeping the thermal targets and the visible details.",
        "Combine infrared and visible information into a single image.",
        "IR-VIS fusion.",
        "Image fusion of the infrared and visible inputs, no enhancement needed.",
        "Fuse the thermal and RGB images.",
        "Produce a fused image that highlights thermal targets and keeps visible textures.",
        "Infrared-visible fusion with default settings.",
        "Both inputs are of good quality; fuse them.",
    ],
    "heldout": [
        "Put the two modalities together, please.",
        "I'd like a single image combining heat signatures and visible texture.",
        "Blend thermal and daylight views into one.",
        "Nothing wrong with the inputs, simply merge them.",
        "Merge both sensors' views into a single frame.",
        "Just do a plain merge of the thermal and colour pictures.",
    ],
}

_CAPS = {  # (any, per band) caps per split, to keep the bank a few thousand sentences
    "single": {"train": (160, 60), "heldout": (80, 30)},
    "composite": {"train": (60, 24), "heldout": (30, 12)},
}

_SEED = 20240315


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", s.lower()).split())


def _fill(template: str, **kw: str) -> str:
    out = template.format(**kw)
    out = re.sub(r"\s+", " ", out).strip()
    return _cap(out)


def _other(modality: str, split: str) -> list[str]:
    return _NOUNS["ir" if modality == "vis" else "vis"][split]


def _pick(sentences: Iterable[str], cap: int, salt: str, must: Sequence[str] = ()) -> list[str]:
    uniq = list(dict.fromkeys(sentences))
    rng = random.Random(f"{_SEED}:{salt}")
    rng.shuffle(uniq)
    chosen = list(dict.fromkeys([*must, *uniq[: max(0, cap - len(must))]]))
    return chosen


def _single_sentences(task: str, split: str) -> dict[str, list[str]]:
    spec = _SPECS[task]
    words: _Words = getattr(spec, split)
    nouns = _NOUNS[spec.modality][split]
    others = _other(spec.modality, split)
    out: dict[str, list[str]] = {b: [] for b in ("any", *SEVERITY_BANDS)}
    for tpl in _SINGLE_TEMPLATES[split]:
        uses_pred = "{pred}" in tpl
        bands = ("any", *SEVERITY_BANDS) if uses_pred else ("any",)
        for band in bands:
            preds = words.preds[band] if uses_pred else [""]
            for noun, pred, fix, req, tag, term, other in itertools.product(
                nouns, preds,
                words.fixes if "{fix}" in tpl else [""],
                words.reqs if "{req}" in tpl else [""],
                words.tags if "{tag}" in tpl else [""],
                words.terms if "{term}" in tpl else [""],
                others if "{other}" in tpl else [""],
            ):
                out[band].append(_fill(tpl, noun=noun, pred=pred, fix=fix, req=req.format(noun=noun), tag=tag,
                                       term=term, other=other))
    return out


def _composite_sentences(task: str, split: str) -> dict[str, list[str]]:
    a, b = split_task(task)
    sa, sb = _SPECS[a], _SPECS[b]
    wa: _Words = getattr(sa, split)
    wb: _Words = getattr(sb, split)
    same = sa.modality == sb.modality
    templates = (_SAME_TEMPLATES if same else _CROSS_TEMPLATES)[split]
    na = _NOUNS[sa.modality][split]
    nb = _NOUNS[sb.modality][split]
    rng = random.Random(f"{_SEED}:{split}:{task}:gen")
    out: dict[str, list[str]] = {band: [] for band in ("any", *SEVERITY_BANDS)}
    for band in out:
        pa, pb = wa.preds[band], wb.preds[band]
        for tpl in templates:
            if band != "any" and "{predA}" not in tpl:
                continue
            for _ in range(24):  # random combinations: the full product would be millions
                noun_a, noun_b = rng.choice(na), rng.choice(nb)
                noun = noun_a
                out[band].append(_fill(
                    tpl, noun=noun, nounA=noun_a, nounB=noun_b,
                    predA=rng.choice(pa), predB=rng.choice(pb),
                    reqA=rng.choice(wa.reqs).format(noun=noun_a), reqB=rng.choice(wb.reqs).format(noun=noun_b),
                    fixA=rng.choice(wa.fixes), fixB=rng.choice(wb.fixes),
                    tagA=rng.choice(wa.tags), tagB=rng.choice(wb.tags),
                    termA=rng.choice(wa.terms), termB=rng.choice(wb.terms),
                ))
    return out


def _neutral_sentences(split: str) -> list[str]:
    out = list(_NEUTRAL_FIXED[split])
    for tpl in _NEUTRAL_TEMPLATES[split]:
        for ir, vis in itertools.product(_NOUNS["ir"][split], _NOUNS["vis"][split]):
            out.append(_fill(tpl, ir=ir, vis=vis))
    return out


_SUGGESTED = {
    NEUTRAL_TASK: NEUTRAL_PROMPT,
    "low_light": "The visible image is too dark, please enhance the brightness.",
    "overexposure": "The visible image is overexposed, please recover the highlights.",
    "noise": "The visible image is noisy, please remove the noise.",
    "blur": "The visible image is blurry, please deblur it.",
    "haze": "The visible image is hazy, please remove the haze.",
    "rain": "The visible image has rain streaks, please remove the rain streaks.",
    "ir_low_contrast": "The infrared image has low contrast, please enhance the contrast.",
    "ir_noise": "The infrared image is noisy, please remove the noise.",
    "ir_stripe": "The infrared image has stripe noise, please remove the stripe noise.",
}


@functools.lru_cache(maxsize=None)
def _bank(split: str) -> dict[str, dict[str, tuple[str, ...]]]:
    bank: dict[str, dict[str, tuple[str, ...]]] = {}
    for task in TASKS:
        if task == NEUTRAL_TASK:
            must = [NEUTRAL_PROMPT] if split == "train" else []
            bank[task] = {"any": tuple(_pick(_neutral_sentences(split), 80, f"{split}:{task}", must))}
            continue
        kind = "composite" if "+" in task else "single"
        raw = _composite_sentences(task, split) if kind == "composite" else _single_sentences(task, split)
        cap_any, cap_band = _CAPS[kind][split]
        entry = {}
        for band, sentences in raw.items():
            must = [_SUGGESTED[task]] if (split == "train" and band == "any" and task in _SUGGESTED) else []
            entry[band] = tuple(_pick(sentences, cap_any if band == "any" else cap_band, f"{split}:{task}:{band}",
                                      must))
        bank[task] = entry
    if split == "heldout":
        seen = {_norm(s) for entry in _bank("train").values() for lst in entry.values() for s in lst}
        bank = {t: {b: tuple(s for s in lst if _norm(s) not in seen) for b, lst in e.items()}
                for t, e in bank.items()}
    return bank


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise PromptError(f"split must be 'train' or 'heldout', got {split!r}")
    return split


def _canonical_task(task: str) -> str:
    if not isinstance(task, str):
        raise PromptError(f"task must be a string, got {type(task).__name__}")
    t = task.strip().lower()
    if "+" in t:
        t = composite_name(split_task(t))
    return _TASK_REGISTRY.get(t)


def _rand_index(n: int, generator: Rng) -> int:
    if isinstance(generator, random.Random):
        return generator.randrange(n)
    if generator is None or isinstance(generator, torch.Generator):
        return int(torch.randint(n, (), generator=generator))
    raise PromptError(f"generator must be a torch.Generator or random.Random, got {type(generator).__name__}")


def sample_prompt(
    task: str,
    *,
    generator: Rng = None,
    split: Split = "train",
    severity: float | str | None = None,
) -> str:
    """One random sentence for ``task``.

    Args:
        task: a name from :data:`TASKS` (composites in any part order).
        generator: ``torch.Generator`` or ``random.Random`` (``None``: torch's global RNG).
        split: ``"train"`` or ``"heldout"``.
        severity: a float in ``[0, 1]`` or a band name; when given, half of the draws use
            wording for that band ("slightly noisy", "extremely dark"), the other half
            band-neutral wording. ``None`` draws from all sentences of the task.

    Raises:
        UnknownNameError: unknown task (suggests close names). PromptError: bad split/severity.
    """
    entry = _bank(_check_split(split))[_canonical_task(task)]
    if severity is None or len(entry) == 1:
        pool = [s for lst in entry.values() for s in lst]
    else:
        if isinstance(severity, str):
            if severity not in SEVERITY_BANDS:
                raise PromptError(f"severity band must be one of {', '.join(SEVERITY_BANDS)}, got {severity!r}")
            band = severity
        else:
            band = severity_band(severity)
        pool = entry[band] if (_rand_index(2, generator) == 0 and entry[band]) else entry["any"]
    return pool[_rand_index(len(pool), generator)]


def all_prompts(
    split: Split = "train", *, by_band: bool = False
) -> dict[str, list[str]] | dict[str, dict[str, list[str]]]:
    """Every sentence of a split: ``{task: [sentences]}``, or ``{task: {band: [sentences]}}``
    with ``by_band=True``."""
    bank = _bank(_check_split(split))
    if by_band:
        return {t: {b: list(lst) for b, lst in e.items()} for t, e in bank.items()}
    return {t: [s for lst in e.values() for s in lst] for t, e in bank.items()}


def train_prompts(task: str) -> list[str]:
    """All training sentences of ``task``."""
    return [s for lst in _bank("train")[_canonical_task(task)].values() for s in lst]


def heldout_prompts(task: str) -> list[str]:
    """All held-out sentences of ``task``: templates and wordings training never sees."""
    return [s for lst in _bank("heldout")[_canonical_task(task)].values() for s in lst]


def bank_counts(split: Split = "train") -> dict[str, int]:
    """Number of sentences per task in a split."""
    return {t: sum(len(lst) for lst in e.values()) for t, e in _bank(_check_split(split)).items()}


def suggested_prompts(*, include_composites: bool = False) -> dict[str, str]:
    """One canonical training sentence per task (for buttons in the web app): ``"fusion"``
    and each degradation, plus, with ``include_composites``, one per composite."""
    out = dict(_SUGGESTED)
    if include_composites:
        for task in COMPOSITES:
            a, b = split_task(task)
            out[task] = _join_suggested(_SUGGESTED[a], _SUGGESTED[b])
    return out


def _join_suggested(a: str, b: str) -> str:
    return f"{a} {b}"


# ----------------------------------------------------------------------------- classifier

_BOTH = re.compile(
    r"infrared[- ]?(?:and|&|-|/)?[- ]?visible(?:[- ]light)?|visible(?:[- ]light)?[- ]?(?:and|&|-|/)[- ]?"
    r"(?:infrared|thermal)|ir[- ]?(?:and|-|/)[- ]?vis\b|thermal and (?:rgb|colou?r|visible)|"
    r"(?:rgb|colou?r) and thermal|both (?:images|inputs|modalities|sensors)"
)
_VIS = re.compile(r"\bvisible|\brgb\b|\bcolou?r (?:image|photo|picture|frame|input)|\boptical|\bdaylight|\bphoto")
_IR = re.compile(r"infrared|thermal|\bir\b|thermogram|\bheat\b|\blwir\b")
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ir_stripe", re.compile(r"(?:strip(?:e|es|ed|ing)|column|fixed[- ]pattern)(?:[- ]noise)?|destripe|banding|"
                             r"barcode|non-?uniformity|vertical line|streaky")),
    ("rain", re.compile(r"\brain|derain|drizzle|downpour|raindrop|\bdrops\b|\bshower|\bstorm|streaks?\b|\bwet\b")),
    ("haze", re.compile(r"\bhaz[ey]|dehaze|\bfog|\bmist|\bsmog|\bmurk|veil|visibility")),
    ("blur", re.compile(r"blur|out[- ]of[- ]focus|defocus|sharpen|\bsharp\b|\bcrisp|smudg|smear|camera shake|"
                        r"into focus|\bfuzzy\b|\bsoft\b|fine edges")),
    ("overexposure", re.compile(r"over[- ]?expos|too bright|overly bright|blown|washed[- ]out(?! and grey| tones)|"
                                r"saturat|\bglar|clipped|(?:the|clipped|saturated|blown-out) highlights|burnt|"
                                r"bleached|too much light|reduce the brightness|too light|\bwhite\b|"
                                r"(?:correct|pull back) the exposure|lost details|excessive exposure|tone down")),
    ("low_light", re.compile(r"low[- ]light|\bdark(?!en)|\bdim\b|under[- ]?expos|night|little light|"
                             r"illuminat|brighten|brighter|brightness|gloom|shadow|lighter|poorly lit|"
                             r"lack of light|(?:boost|raise) the exposure|poor lighting|hardly any light|\bblack\b")),
    ("ir_low_contrast", re.compile(r"contrast|\bflat\b|grey|gray|dull|muddy|tonal range|intensity range|"
                                   r"stand out|\bpop\b|dynamic range|temperature differences|hot objects|"
                                   r"hot and cold|warm targets|blend into the background|washed-out")),
    ("noise", re.compile(r"nois|grain|speckl|static|gaussian")),
]


_CLAUSE = re.compile(r"[,;:.!?]|\band\b|\bwhile\b|\bplus\b|\bbut\b")


def _modality_at(text: str, start: int, end: int) -> str:
    """Modality a keyword at ``text[start:end]`` refers to: a modality word in the same
    clause (nearest), else the nearest one before it, else after it; visible by default."""
    bounds = [m.start() for m in _CLAUSE.finditer(text)]
    lo = max([b for b in bounds if b < start], default=-1)
    hi = min([b for b in bounds if b >= end], default=len(text))
    hits = [(m.start(), m.end(), mod) for pat, mod in ((_VIS, "vis"), (_IR, "ir")) for m in pat.finditer(text)]
    if not hits:
        return "vis"

    def dist(h: tuple[int, int, str]) -> int:
        return start - h[1] if h[1] <= start else h[0] - end

    same = [h for h in hits if lo < h[0] and h[1] <= hi]
    before = [h for h in hits if h[1] <= start]
    pool = same or before or hits
    return min(pool, key=dist)[2]


def task_from_text(text: str) -> str:
    """Best-effort keyword classifier: the task a sentence most likely asks for.

    Returns ``"fusion"`` when no degradation is mentioned, a degradation name, or a
    composite ``"a+b"`` when two are (the first two found). Noise is attributed to the
    modality named nearest to it; meant for reporting, not for training.
    """
    if not isinstance(text, str):
        raise PromptError(f"text must be a string, got {type(text).__name__}")
    t = text.lower()
    t = _BOTH.sub(lambda m: " " * len(m.group(0)), t)
    found: dict[str, int] = {}
    masked = t
    for task, pat in _PATTERNS:
        for m in pat.finditer(masked):
            if task == "noise":
                task_n = "ir_noise" if _modality_at(t, m.start(), m.end()) == "ir" else "noise"
            else:
                task_n = task
            found.setdefault(task_n, m.start())
            masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end():]
    if "low_light" in found and "overexposure" in found:
        drop = max(("low_light", "overexposure"), key=lambda k: found[k])
        found.pop(drop)
    ordered = sorted(found, key=found.get)
    if not ordered:
        return NEUTRAL_TASK
    if len(ordered) == 1:
        return ordered[0]
    return composite_name(ordered[:2])
