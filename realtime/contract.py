"""The .onnx model contract: the only interface between training/ (which writes models) and realtime/.

A contract model takes ``frame`` (uint8, [N, H, W, 3], BGR, any H and W) and returns ``stylized`` (same type and
shape). Multi-style models add ``style_weights`` (float32, [S]). All pre- and post-processing lives inside the
graph, so the runtime hands OpenCV frames straight in and out.

Metadata lives in the model's ``metadata_props`` under the keys below. It is parsed defensively: a model file is
untrusted input, so every field is type-checked and a problem becomes a :class:`ContractError` naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

CONTRACT_VERSION = 1

INPUT_FRAME = "frame"
INPUT_STYLE_WEIGHTS = "style_weights"
OUTPUT_STYLIZED = "stylized"

KEY_CONTRACT = "stylecast.contract"
KEY_STYLES = "stylecast.styles"
KEY_ARCHITECTURE = "stylecast.architecture"
KEY_RECIPE = "stylecast.recipe"
KEY_TRAIN_SIZE = "stylecast.train_size"
KEY_VARIANT = "stylecast.variant"

CREDIT_FIELDS = ("title", "artist", "year", "licence", "source")
MAX_METADATA_CHARS = 1_000_000


class ContractError(ValueError):
    """A model file does not follow the stylecast contract."""


@dataclass(frozen=True)
class StyleCredit:
    """One style a model paints, with the credits of the painting it learned from."""

    name: str
    title: str = ""
    artist: str = ""
    year: str = ""
    licence: str = ""
    source: str = ""

    def describe(self) -> str:
        """A one-line human credit, e.g. 'The Starry Night, Vincent van Gogh (1889), public domain'."""
        who = ", ".join(p for p in (self.title, self.artist) if p)
        year = f" ({self.year})" if self.year else ""
        licence = f", {self.licence}" if self.licence else ""
        return f"{who or self.name}{year}{licence}"


@dataclass(frozen=True)
class ModelInfo:
    """What a model's metadata says about it."""

    styles: tuple[StyleCredit, ...]
    architecture: Mapping[str, Any] = field(default_factory=dict)
    recipe: Mapping[str, Any] = field(default_factory=dict)
    train_size: int = 0
    variant: str = "fp32"
    contract: int = CONTRACT_VERSION

    @property
    def is_multi_style(self) -> bool:
        return len(self.styles) > 1

    def to_metadata(self) -> dict[str, str]:
        """Serialise to ``metadata_props`` strings (used by the exporter)."""
        return {
            KEY_CONTRACT: str(self.contract),
            KEY_STYLES: json.dumps([s.__dict__ for s in self.styles]),
            KEY_ARCHITECTURE: json.dumps(dict(self.architecture), sort_keys=True),
            KEY_RECIPE: json.dumps(dict(self.recipe), sort_keys=True),
            KEY_TRAIN_SIZE: str(int(self.train_size)),
            KEY_VARIANT: self.variant,
        }


def _json_field(props: Mapping[str, str], key: str, kind: type, default: Any) -> Any:
    raw = props.get(key)
    if raw is None:
        return default
    if len(raw) > MAX_METADATA_CHARS:
        raise ContractError(f"metadata '{key}' is too large ({len(raw)} characters)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ContractError(f"metadata '{key}' is not valid JSON ({exc.msg})") from None
    if not isinstance(value, kind):
        raise ContractError(f"metadata '{key}' should be a JSON {kind.__name__}")
    return value


def _int_field(props: Mapping[str, str], key: str, default: int) -> int:
    raw = props.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ContractError(f"metadata '{key}' should be an integer, not {raw[:40]!r}") from None


def parse_metadata(props: Mapping[str, str]) -> ModelInfo:
    """Read :class:`ModelInfo` from ``metadata_props``; raise :class:`ContractError` on anything malformed."""
    if KEY_CONTRACT not in props:
        raise ContractError(f"metadata '{KEY_CONTRACT}' is missing (not a stylecast model)")
    contract = _int_field(props, KEY_CONTRACT, CONTRACT_VERSION)
    if contract > CONTRACT_VERSION:
        raise ContractError(
            f"contract version {contract} is newer than this stylecast understands ({CONTRACT_VERSION})")
    raw_styles = _json_field(props, KEY_STYLES, list, None)
    if not raw_styles:
        raise ContractError(f"metadata '{KEY_STYLES}' is missing or empty")
    styles = []
    for entry in raw_styles:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ContractError(f"metadata '{KEY_STYLES}' has an entry without a name")
        styles.append(StyleCredit(name=entry["name"], **{k: str(entry.get(k, "")) for k in CREDIT_FIELDS}))
    return ModelInfo(
        styles=tuple(styles),
        architecture=_json_field(props, KEY_ARCHITECTURE, dict, {}),
        recipe=_json_field(props, KEY_RECIPE, dict, {}),
        train_size=_int_field(props, KEY_TRAIN_SIZE, 0),
        variant=props.get(KEY_VARIANT, "fp32"),
        contract=contract,
    )
