"""The README's settings table is the Settings class, row for row: a new setting cannot go undocumented."""

from __future__ import annotations

from pathlib import Path

from tailor.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def settings_table() -> str:
    """The table as the README shows it (print this to regenerate it)."""
    rows = ["| variable | meaning | default |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        factory = field.default_factory
        default = factory() if factory is not None else field.default  # type: ignore[call-arg]
        shown = "none" if default is None or default == [] else str(getattr(default, "value", default))
        rows.append(f"| `TAILOR_{name.upper()}` | {field.description} | `{shown}` |")
    return "\n".join(rows)


def test_the_readme_settings_table_matches_the_settings() -> None:
    expected = settings_table()
    assert expected in README.read_text(), f"regenerate the README's settings table:\n{expected}"


if __name__ == "__main__":
    print(settings_table())
