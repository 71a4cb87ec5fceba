"""The facts a household is classified on: its members, assets, expenses and emergencies."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from events.types import (
    EMERGENCY_SIGNALS,
    EmploymentStatus,
    ExpenseKind,
    LabourCapacity,
    Relation,
    SignalKind,
)
from services.rules.calendar import add_months

EXPENSE_WINDOW_MONTHS: Final = 12

# The signal kinds that can ground temporary assistance, in the events' declaration order.
EMERGENCY_KINDS: Final[tuple[SignalKind, ...]] = tuple(
    k for k in SignalKind if k in EMERGENCY_SIGNALS
)


def age_on(birth: date, d: date) -> int:
    """Completed years at `d`; the birthday itself counts (born 29 Feb: a year older on 1 Mar)."""
    if d < birth:
        raise ValueError(f"born {birth.isoformat()}, after the date {d.isoformat()}")
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def _amount(name: str, value: object) -> Decimal:
    # Facts are often built from event payloads: accept int and str, never float (cents drift).
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{name} must be a Decimal, int or str amount, got {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} must be a finite amount >= 0, got {value}")
    return amount


def _set(obj: object, field: str, value: object) -> None:
    # Normalising a field of a frozen dataclass in __post_init__.
    object.__setattr__(obj, field, value)


def _require_count(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class Member:
    """One member of a household as known at classification time."""

    person_id: str
    name: str
    birth_date: date
    relation: Relation
    monthly_income: Decimal
    labour_capacity: LabourCapacity
    employment_status: EmploymentStatus
    disability_grade: int | None = None
    in_school: bool = False
    chronic_illness: bool = False
    orphan: bool = False
    parents_unable_to_support: bool = False
    left_behind: bool = False

    def __post_init__(self) -> None:
        # Facts may be built from decoded JSON: coerce plain strings to the events' enums, so
        # the rules' identity comparisons hold whatever built the facts.
        _set(self, "relation", Relation(self.relation))
        _set(self, "labour_capacity", LabourCapacity(self.labour_capacity))
        _set(self, "employment_status", EmploymentStatus(self.employment_status))
        income = _amount(f"member {self.person_id}: monthly_income", self.monthly_income)
        _set(self, "monthly_income", income)
        if self.disability_grade is not None and self.disability_grade not in (1, 2, 3, 4):
            raise ValueError(
                f"member {self.person_id}: disability_grade must be 1-4, "
                f"got {self.disability_grade}"
            )

    def age_on(self, d: date) -> int:
        """The member's age at `d`."""
        return age_on(self.birth_date, d)

    @property
    def disabled(self) -> bool:
        """True when the member holds a disability grade."""
        return self.disability_grade is not None

    @property
    def has_labour_capacity(self) -> bool:
        """Full or partial labour capacity."""
        return self.labour_capacity is not LabourCapacity.NONE


@dataclass(frozen=True)
class Emergency:
    """An emergency that befell the household on a date; `kind` is one of EMERGENCY_KINDS."""

    kind: SignalKind
    on: date

    def __post_init__(self) -> None:
        kind = SignalKind(self.kind)
        if kind not in EMERGENCY_SIGNALS:
            kinds = ", ".join(k.value for k in EMERGENCY_KINDS)
            raise ValueError(f"{kind.value!r} is not an emergency kind ({kinds})")
        _set(self, "kind", kind)


@dataclass(frozen=True)
class Expense:
    """A rigid expense paid on a date: it counts in R from `on` to add_months(on, 12) inclusive."""

    kind: ExpenseKind
    amount: Decimal
    on: date

    def __post_init__(self) -> None:
        _set(self, "kind", ExpenseKind(self.kind))
        _set(self, "amount", _amount(f"expense on {self.on}: amount", self.amount))

    @property
    def last_day(self) -> date:
        """The last date the expense counts on."""
        return add_months(self.on, EXPENSE_WINDOW_MONTHS)

    @property
    def expires_on(self) -> date:
        """The first date it no longer counts on."""
        return self.last_day + timedelta(days=1)

    def counts_on(self, d: date) -> bool:
        """True when the expense is within the 12 months before `d` (dated later: not yet)."""
        return self.on <= d <= self.last_day


def expense_sums(expenses: tuple[Expense, ...], on: date) -> tuple[Decimal, Decimal]:
    """The medical and education expenses that count at `on` (R = their sum)."""
    medical = education = Decimal(0)
    for e in expenses:
        if e.counts_on(on):
            if e.kind is ExpenseKind.MEDICAL:
                medical += e.amount
            else:
                education += e.amount
    return medical, education


@dataclass(frozen=True)
class HouseholdFacts:
    """Everything the tier, tag and program rules read about one household."""

    household_id: str
    region_code: str
    members: tuple[Member, ...]
    deposits: Decimal = Decimal(0)
    vehicles: int = 0
    residential_properties: int = 0
    medical_expenses_12m: Decimal = Decimal(0)
    education_expenses_12m: Decimal = Decimal(0)
    dwelling_unsafe: bool = False
    legal_supporter_able: bool = False
    emergencies: tuple[Emergency, ...] = ()
    # The dated expenses behind the two sums above, when known (None: the sums are all there
    # is, as on events written before expenses had dates). When known, they decide R at any
    # date: see `at`.
    expenses: tuple[Expense, ...] | None = None

    def __post_init__(self) -> None:
        for field in ("deposits", "medical_expenses_12m", "education_expenses_12m"):
            _set(self, field, _amount(field, getattr(self, field)))
        _set(self, "members", tuple(self.members))
        _set(self, "emergencies", tuple(self.emergencies))
        if self.expenses is not None:
            _set(self, "expenses", tuple(self.expenses))
        _require_count("vehicles", self.vehicles)
        _require_count("residential_properties", self.residential_properties)
        ids = [m.person_id for m in self.members]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"household {self.household_id}: members listed twice: {duplicates}")
        # Zero members is a legal state (the last member died); classification refuses it.

    @property
    def rigid_expenses_12m(self) -> Decimal:
        """R: self-paid medical plus education expenses of the last 12 months."""
        return self.medical_expenses_12m + self.education_expenses_12m

    def at(self, on: date) -> HouseholdFacts:
        """These facts with the 12-month sums as they stand at `on` (unchanged without dated
        expenses, or when the sums already are those of `on`)."""
        if self.expenses is None:
            return self
        medical, education = expense_sums(self.expenses, on)
        if (medical, education) == (self.medical_expenses_12m, self.education_expenses_12m):
            return self
        return replace(self, medical_expenses_12m=medical, education_expenses_12m=education)

    def member(self, person_id: str) -> Member:
        """The member with this person id (KeyError when absent)."""
        for m in self.members:
            if m.person_id == person_id:
                return m
        raise KeyError(f"no member {person_id} in household {self.household_id}")
