"""The topic catalog: every topic, its partitions, retention, key, and who writes and reads it.

Applied idempotently at start-up (services/runtime/topic_admin.py) and rendered into the
AsyncAPI document (contracts/asyncapi.yaml). Replication comes from TopicSettings, since it
is a property of the cluster, not of the topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from events.types import Department, EventType

FOREVER = -1  # retention.ms=-1: the broker never deletes by age


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    description: str
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    messages: tuple[str, ...]
    retention_ms: int = FOREVER
    extra_config: dict[str, str] = field(default_factory=dict)


POLICY_EVENTS = (
    EventType.POLICY_VERSION_PROPOSED.value,
    EventType.POLICY_VERSION_APPROVED.value,
    EventType.POLICY_VERSION_WITHDRAWN.value,
)
# Every event a household's chain can hold.
ENVELOPE_EVENTS = tuple(
    t.value for t in EventType if t.value not in POLICY_EVENTS and t is not EventType.CLOCK_ADVANCED
)
# The chain events the chain writer delivers to a department.
REFERRAL_EVENTS = (
    EventType.REFERRAL_ISSUED.value,
    EventType.REFERRAL_WITHDRAWN.value,
    EventType.REFERRAL_OVERDUE.value,
    EventType.REFERRAL_AMENDED.value,
)
# What a department's topic carries: those, and the refusals of its answers on assist.feedback.
DEPARTMENT_MESSAGES = (*REFERRAL_EVENTS, "FeedbackRefused")

# The topics keyed by household: a household's records keep their order only within one
# partition, and a new count moves households to other partitions, splitting their chains, so
# the count is set once for good. 64 leaves room to grow: scaled-out processors share work by
# tasks (64 divides into 2, 4, 8, 16, 32 instances), and it costs a broker little
# (deploy/capacity-plan.md). Topics that exist keep the count they were made with.
HOUSEHOLD_PARTITIONS = 64

EVENTS = TopicSpec(
    name="assist.events",
    partitions=HOUSEHOLD_PARTITIONS,
    key="household_id",
    description="Events proposed for a household's chain, not yet sequenced. "
    "Only the chain writer reads it; it assigns sequence and hashes and writes assist.chain.",
    publishers=(
        "intake",
        "identification",
        "classification",
        "referral",
        "feedback",
        "scheduler",
        "operators",  # a dead letter re-driven to the topic it came from
    ),
    # Operators read a dead letter's original back from here (`assist deadletter show --raw`).
    subscribers=("chainwriter", "operators"),
    messages=ENVELOPE_EVENTS,
)
CHAIN = TopicSpec(
    name="assist.chain",
    partitions=HOUSEHOLD_PARTITIONS,
    key="household_id",
    description="Every household's events in chain order, hash-linked: the log auditors replay.",
    publishers=("chainwriter",),
    subscribers=(
        "chainwriter",  # its heads, read back at every start
        "identification",
        "classification",
        "referral",
        "feedback",
        "audit",
        "intake",
        "scheduler",
        "policy",
        "operators",  # the console's board of referrals
        "auditors",  # `assist verify --all` replays the whole log
    ),
    messages=ENVELOPE_EVENTS,
)
MONITORING = TopicSpec(
    name="assist.monitoring",
    partitions=6,
    # HMAC-SHA256(deployment secret, person_id) in hex: one person, one partition, and no
    # resident id in clear (services/runtime/pseudonym.py).
    key="pseudonym of person_id",
    description="Data providers' reference records and monitoring signals about persons, "
    "before identification has found their household.",
    publishers=("intake", "operators"),
    subscribers=("identification", "operators"),
    messages=(EventType.SIGNAL_RECEIVED.value, EventType.RECORD_REPORTED.value),
)
FEEDBACK = TopicSpec(
    name="assist.feedback",
    partitions=6,
    key="referral_id",
    description="Departments' answers to referrals (the feedback body of interfaces.md with "
    "referral_id, department and a feedback_id of the answer's own, required: a retry re-sends "
    "it and is taken once); the HTTP feedback endpoint writes here too. An answer that is not "
    "taken is told back as FeedbackRefused on the department's assist.referrals topic.",
    publishers=("feedback", "operators", *(d.value for d in Department)),
    subscribers=("feedback", "operators"),
    messages=("FeedbackSubmitted",),
)
DEADLETTER = TopicSpec(
    name="assist.deadletter",
    partitions=1,
    key="source topic/partition/offset",
    description="Messages that could not be processed: original bytes (of a larger one than a "
    "dead letter may quote, its size, SHA-256 and first bytes), where they came from, why.",
    # Every service that runs a processor: a message it cannot take goes here.
    publishers=(
        "chainwriter",
        "identification",
        "classification",
        "referral",
        "feedback",
        "scheduler",
        "policy",
        "audit",
        "intake",
        "operations",
    ),
    subscribers=("operators",),
    messages=("DeadLetter",),
)
DEADLETTER_REDRIVEN = TopicSpec(
    name="assist.deadletter.redriven",
    partitions=1,
    key="dead_letter_id",
    description="Dead letters re-published to their source topic by an operator, one record per "
    "re-drive, written in the same transaction as the re-published message: a dead letter is "
    "not re-driven twice by mistake.",
    publishers=("operators",),
    subscribers=("operators",),
    messages=("DeadLetterRedriven",),
)
DEADLETTER_SKIPS = TopicSpec(
    name="assist.deadletter.skips",
    partitions=1,
    key="processor",
    description="Messages that stop a processor and that an operator ordered it to skip "
    "(SkipOrdered: which processor, which input position, who, when, why), and the "
    "processor's record of doing so (MessageSkipped), written in the same transaction as the "
    "message's dead letter and the input offset past it. Every processor reads it at start.",
    publishers=("operators", *DEADLETTER.publishers),
    subscribers=(*DEADLETTER.publishers, "operators"),
    messages=("SkipOrdered", "MessageSkipped"),
)
CHECKPOINTS = TopicSpec(
    name="assist.checkpoints",
    partitions=1,
    key="checkpoint | tree-head | witness",
    description="Signed checkpoints over every household's chain head (key checkpoint), "
    "signed tree heads of the Merkle tree over every chain record (key tree-head) and outside "
    "witnesses' co-signatures of them (key witness) (audit).",
    publishers=("audit",),
    # The audit reads its tree heads and witnesses back at start.
    subscribers=("audit", "auditors"),
    messages=("Checkpoint", "TreeHead", "TreeHeadWitnessed"),
)
AUDIT_ACCESS = TopicSpec(
    name="assist.audit.access",
    partitions=1,
    key="household_id",
    description="Who read which household's chain, and when. Append-only: no service offers a "
    "way to change or delete it.",
    publishers=("audit",),
    subscribers=("auditors",),
    messages=("ChainAccessed",),
)

POLICY = TopicSpec(
    name="assist.policy",
    partitions=1,
    key="policy_version",
    description="Policy versions and their decisions: proposed, approved by a second person, "
    "withdrawn. Kept forever; every service that judges households folds it.",
    publishers=("policy",),
    subscribers=("identification", "classification", "referral", "scheduler", "policy"),
    messages=POLICY_EVENTS,
)
CLOCK = TopicSpec(
    name="assist.clock",
    partitions=1,
    key="clock",
    description="The system's time as data: processors fire timers (dates that matter, overdue "
    "referrals) when it passes them, never from the wall clock. Ticks follow the wall clock, "
    "or move only when an operator advances a manual clock. Compacted: the latest tick is "
    "what matters.",
    publishers=("scheduler",),
    subscribers=("scheduler", "feedback", "policy", "intake", "audit"),
    messages=(EventType.CLOCK_ADVANCED.value,),
    extra_config={
        "cleanup.policy": "compact",
        "segment.ms": "3600000",
        "min.cleanable.dirty.ratio": "0.1",
    },
)


def skips_topic_of(deadletter_topic: str) -> str:
    """The skips topic beside a dead-letter topic (same namespace): where processors look for
    operators' orders to skip a message."""
    if deadletter_topic.endswith(DEADLETTER.name):
        return deadletter_topic.removesuffix(DEADLETTER.name) + DEADLETTER_SKIPS.name
    return f"{deadletter_topic}.skips"


def referral_topic(department: Department | str) -> str:
    """`assist.referrals.<department>`: what one department receives."""
    return f"assist.referrals.{Department(department).value}"


REFERRALS = tuple(
    TopicSpec(
        name=referral_topic(department),
        partitions=3,
        key="household_id (FeedbackRefused: referral_id, else the refused message's position)",
        description=f"Referrals addressed to {department.value}: issued, amended, withdrawn, "
        "overdue; each carries only what this department needs. And FeedbackRefused: an answer "
        f"{department.value} sent on assist.feedback that was not taken, with the status, field "
        "and reason HTTP would have given.",
        # A refusal is no fact of a household's chain, so the chain writer does not carry it:
        # feedback writes it in the transaction that consumes the refused answer.
        publishers=("chainwriter", "feedback"),
        subscribers=(department.value,),
        messages=DEPARTMENT_MESSAGES,
    )
    for department in Department
)

CATALOG: tuple[TopicSpec, ...] = (
    EVENTS,
    CHAIN,
    MONITORING,
    FEEDBACK,
    *REFERRALS,
    DEADLETTER,
    DEADLETTER_REDRIVEN,
    DEADLETTER_SKIPS,
    CHECKPOINTS,
    AUDIT_ACCESS,
    POLICY,
    CLOCK,
)


def catalog(namespace: str = "") -> tuple[TopicSpec, ...]:
    """The catalog with every name prefixed by `namespace` (isolated test runs, tenants)."""
    return tuple(replace(spec, name=namespace + spec.name) for spec in CATALOG)


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The concrete topic names a running service uses (ASSIST_TOPIC_NAMESPACE + catalog)."""

    namespace: str = ""

    @property
    def events(self) -> str:
        return self.namespace + EVENTS.name

    @property
    def chain(self) -> str:
        return self.namespace + CHAIN.name

    @property
    def monitoring(self) -> str:
        return self.namespace + MONITORING.name

    @property
    def feedback(self) -> str:
        return self.namespace + FEEDBACK.name

    @property
    def deadletter(self) -> str:
        return self.namespace + DEADLETTER.name

    @property
    def deadletter_redriven(self) -> str:
        return self.namespace + DEADLETTER_REDRIVEN.name

    @property
    def deadletter_skips(self) -> str:
        return self.namespace + DEADLETTER_SKIPS.name

    @property
    def checkpoints(self) -> str:
        return self.namespace + CHECKPOINTS.name

    @property
    def audit_access(self) -> str:
        return self.namespace + AUDIT_ACCESS.name

    @property
    def policy(self) -> str:
        return self.namespace + POLICY.name

    @property
    def clock(self) -> str:
        return self.namespace + CLOCK.name

    def referrals(self, department: Department | str) -> str:
        return self.namespace + referral_topic(department)
