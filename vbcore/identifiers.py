"""Agency identifiers (mã định danh, docs/domain.md §2): their shape, their parts, and test-tenant ids.

Two shapes are accepted:

- the **standard** 13-character shape used on the national axis, ``LLL.KK.JJ.XNN``, read right to
  left: level 1 ``XNN`` (a letter and two digits), then level 2 ``JJ``, level 3 ``KK``, level 4 ``LLL``.
  A level-1 body is ``000.00.00.XNN``; its units fill the groups to the left
  (``000.00.11.H53`` a department of Tây Ninh, ``001.00.10.H47`` a district of Quảng Nam);
- the **general** shape of Quyết định 20/2020/QĐ-TTg (referenced by QCVN 102:2016 amendment 1): at
  most 35 characters ``0-9 A-Z`` in groups separated by ``.``. Codes of this shape are seen in the wild
  (``01.02.G22``, ``14.00.W00``, ``001.00.20.JB2``). To keep words such as ``NULL`` out, vbus asks for
  at least two groups and a last (level-1) group made of letters followed by digits.

Lower-case letters are refused (the decree's alphabet is ``A-Z``); the error says so.

Ids such as ``vxp.saas.03`` name test tenants of the shared platform: they are not agency codes
(``parse_code`` refuses them) but ``is_test_tenant`` recognises them, and an operator may load them in
a directory file with kind ``test-tenant``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vbcore.errors import InvalidAgencyCode
from vbcore.lang import Text

MAX_LENGTH = 35
STANDARD = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
_GROUP = re.compile(r"[0-9A-Z]+")
_LEVEL1 = re.compile(r"([A-Z]+)([0-9]+)")
_TEST_TENANT = re.compile(r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)+")

LEVEL1_LETTERS = {
    "G": "ministries and government bodies",
    "H": "provincial People's Committees (UBND)",
    "K": "provincial People's Councils (HĐND), same number as H",
    "A": "Party bodies",
}
"""The level-1 letters whose meaning is confirmed (docs/domain.md §2); other letters are accepted."""

EXPECTED = (
    "expected LLL.KK.JJ.XNN such as 000.00.00.G22, or the QĐ 20/2020 shape: at most 35 characters "
    "0-9 A-Z in groups separated by '.', the last group letters then digits"
)
EXPECTED_VI = (
    "cần dạng LLL.KK.JJ.XNN như 000.00.00.G22, hoặc dạng theo QĐ 20/2020: tối đa 35 ký tự 0-9 A-Z "
    "chia nhóm bằng dấu '.', nhóm cuối gồm chữ cái rồi chữ số"
)


@dataclass(frozen=True)
class AgencyCode:
    """A parsed agency code. ``groups`` are as written, left to right; the last is level 1."""

    text: str
    groups: tuple[str, ...]

    def __str__(self) -> str:
        return self.text

    @property
    def standard(self) -> bool:
        """True for the 13-character ``LLL.KK.JJ.XNN`` shape."""
        return STANDARD.fullmatch(self.text) is not None

    @property
    def level1(self) -> str:
        """The level-1 group, e.g. ``H53``."""
        return self.groups[-1]

    def group(self, level: int) -> str | None:
        """The group of ``level`` (1 = rightmost), or None when the code has fewer groups."""
        if not 1 <= level <= len(self.groups):
            return None
        return self.groups[-level]

    @property
    def level1_letter(self) -> str:
        """``H`` for ``000.00.11.H53`` (letters, as some general-shape codes have two: ``JB2``)."""
        return self._level1_parts()[0]

    @property
    def level1_number(self) -> int:
        """``53`` for ``000.00.11.H53``."""
        return int(self._level1_parts()[1])

    @property
    def is_level1(self) -> bool:
        """True for a level-1 body: every group left of level 1 is zeros (``000.00.00.H53``)."""
        return all(set(g) == {"0"} for g in self.groups[:-1])

    @property
    def depth(self) -> int:
        """1 for a level-1 body; otherwise the level of the leftmost non-zero group (2 to 4)."""
        for i, g in enumerate(self.groups[:-1]):
            if set(g) != {"0"}:
                return len(self.groups) - i
        return 1

    @property
    def parent(self) -> str | None:
        """The level-1 body this code belongs to (``000.00.00.XNN``); None for a level-1 body."""
        if self.is_level1:
            return None
        return f"000.00.00.{self.level1}"

    @property
    def level1_body(self) -> str:
        """The level-1 body's code; the code itself when it is one."""
        return self.parent or self.text

    def _level1_parts(self) -> tuple[str, str]:
        m = _LEVEL1.fullmatch(self.level1)
        assert m is not None  # parse_code guarantees it
        return m.group(1), m.group(2)


def parse_code(text: str) -> AgencyCode:
    """Parse an agency code; raise ``InvalidAgencyCode`` saying which shape was expected."""
    if not isinstance(text, str) or not text:
        raise InvalidAgencyCode(f"an empty agency code: {EXPECTED}", vi=f"mã định danh rỗng: {EXPECTED_VI}")
    problem = _shape_problem(text)
    if problem is not None:
        raise InvalidAgencyCode(
            f"{text!r} is not an agency code ({problem.en}): {EXPECTED}",
            vi=f"{text!r} không phải mã định danh cơ quan ({problem.vi}): {EXPECTED_VI}",
        )
    return AgencyCode(text, tuple(text.split(".")))


def is_valid_code(text: str) -> bool:
    """True when ``text`` is an agency code of either accepted shape."""
    return isinstance(text, str) and bool(text) and _shape_problem(text) is None


def is_test_tenant(text: str) -> bool:
    """True for ids of the shared platform's test tenants, such as ``vxp.saas.03``.

    Recognised by shape: lower-case dotted groups starting with a letter. They are never agency codes.
    """
    return isinstance(text, str) and _TEST_TENANT.fullmatch(text) is not None


def _shape_problem(text: str) -> Text | None:
    if STANDARD.fullmatch(text):
        return None
    if text != text.strip():
        return Text("có khoảng trắng ở đầu hoặc cuối", "leading or trailing spaces")
    if len(text) > MAX_LENGTH:
        return Text(f"{len(text)} ký tự, vượt quá {MAX_LENGTH}", f"{len(text)} characters, over {MAX_LENGTH}")
    if is_test_tenant(text):
        return Text(
            "mã thử nghiệm của nền tảng dùng chung, không phải mã định danh cơ quan",
            "a test tenant id of the shared platform, not an agency code",
        )
    if text.upper() != text and _shape_problem(text.upper()) is None:
        return Text("chữ cái phải viết hoa", "letters must be upper case")
    groups = text.split(".")
    if len(groups) < 2:
        return Text("chỉ có một nhóm", "a single group")
    bad = [g for g in groups if not _GROUP.fullmatch(g)]
    if bad:
        if not bad[0]:
            return Text("có nhóm rỗng", "an empty group")
        return Text(f"nhóm {bad[0]!r} không chỉ gồm 0-9 A-Z", f"group {bad[0]!r} is not made of 0-9 A-Z")
    if not _LEVEL1.fullmatch(groups[-1]):
        return Text(
            f"nhóm cấp 1 {groups[-1]!r} không phải chữ cái rồi chữ số",
            f"the level-1 group {groups[-1]!r} is not letters then digits",
        )
    return None
