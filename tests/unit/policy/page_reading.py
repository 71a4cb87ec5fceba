"""Reading a served page as a browser would see it, with the standard library's HTML parser:
the elements of a tag and class, their attributes and text, and the ids they sit in."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

_VOID = frozenset({"meta", "input", "br", "img", "link", "hr", "col", "source", "wbr"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    within: tuple[str, ...]  # the ids of the elements around it, outermost first
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        within = tuple(e.attrs["id"] for e in self._open if "id" in e.attrs)
        element = Element(tag, {k: v or "" for k, v in attrs}, within)
        self.found.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def _read(page: str) -> list[Element]:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return reader.found


def elements(page: str, tag: str, css_class: str = "", within: str = "") -> list[Element]:
    """Every `tag` (of class `css_class`, inside the element of id `within`), in page order."""
    return [
        e
        for e in _read(page)
        if e.tag == tag
        and (not css_class or css_class in e.classes)
        and (not within or within in e.within)
    ]


def by_id(page: str, element_id: str) -> Element | None:
    return next((e for e in _read(page) if e.attrs.get("id") == element_id), None)
