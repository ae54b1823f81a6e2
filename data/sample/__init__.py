"""The sample company: a seeded, realistic SaaS customer base with known churn causes.

:func:`generate_sample` simulates ``n_accounts`` accounts over the 24 calendar months
ending at ``end`` (the last month is partial and stops at ``end``), month by month
with numpy arrays over all accounts at once. Each month:

1. every account active at the start of the month gets a **true monthly churn hazard**
   computed from what its own data showed before that month: usage decline (last 30
   days vs the previous 60), low seat utilisation, support pain (high/urgent tickets of
   the last two months), failed payments (last three months), champion loss, low NPS,
   the renewal month of annual contracts, the CSM's quality, the segment, and noise;
2. churn is drawn from that hazard (the subscription ends on the account's billing day);
3. seats expand (high utilisation, good health) or contract (low utilisation, high
   risk), add-ons are bought, annual renewals may carry a price uplift;
4. tickets, invoices and NPS responses of the month are drawn from the latent state;
5. the latent state moves on: usage declines start and stop, support and billing
   troubles come and go, champions leave and are (sometimes) replaced.

Daily event aggregates (one row per account, day and event type) are generated after
the simulation from the monthly usage path, in chunks of accounts. In the last 12
months, accounts that meet a playbook trigger are enrolled (20 % random holdout) and
treated accounts get the planted effect of :data:`PLAYBOOK_EFFECTS` on their hazard
for 90 days, so the effect is recoverable from treated vs holdout churn.

The same ``seed`` and ``end`` always give identical tables (one
``numpy.random.default_rng(seed)`` stream, fixed chunk size, sorted output).
:func:`build_sample` writes the same tables straight into a warehouse, the events chunk
by chunk, so 100,000 accounts (tens of millions of event rows) never sit in memory at once.

The package, one module per job (``from data.sample import X`` reaches every public name):
:mod:`~data.sample.company` (the company's parameters), :mod:`~data.sample.dates`,
:mod:`~data.sample.simulation` (the accounts, and the months run by
:mod:`~data.sample.months`, one method per step above), :mod:`~data.sample.tables` and
:mod:`~data.sample.events` (the tables built from the finished simulation), and
:mod:`~data.sample.generate` (the public functions and the warehouse writes).
"""

from data.sample.company import (
    ADDON_PRODUCT,
    BASE_HAZARD,
    CAUSES,
    CONTACT_ROLES,
    CSM_BOOK_SHARE,
    CSM_NAMES,
    CSM_QUALITY,
    DAILY_ACTIVE_SHARE,
    EVENT_CHUNK,
    EVENT_TYPES,
    HAZARD_CAP,
    HOLDOUT_SHARE,
    INDUSTRIES,
    LEAD_SOURCE_SHARE,
    LEAD_SOURCES,
    MAIN_PRODUCT,
    MID_TERM_FACTOR,
    N_MONTHS,
    PLAN_BY_SEGMENT,
    PLANS,
    PLAYBOOK_EFFECTS,
    PLAYBOOK_KEYS,
    PRICE_PER_SEAT,
    REGION_SHARE,
    REGIONS,
    RENEWAL_MONTH_FACTOR,
    SEGMENT_ARR_MEDIAN,
    SEGMENT_SHARE,
    SEGMENTS,
    TICKET_PRIORITIES,
    W_CHAMPION_MISSING,
    W_CHAMPION_NEW,
    W_LOW_NPS,
    W_LOW_UTILISATION,
    W_PAYMENT,
    W_SUPPORT,
    W_USAGE_DECLINE,
)
from data.sample.generate import SampleSummary, build_sample, generate_sample, write_sample

__all__ = [
    "ADDON_PRODUCT", "BASE_HAZARD", "CAUSES", "CONTACT_ROLES", "CSM_BOOK_SHARE", "CSM_NAMES", "CSM_QUALITY",
    "DAILY_ACTIVE_SHARE", "EVENT_CHUNK", "EVENT_TYPES", "HAZARD_CAP", "HOLDOUT_SHARE", "INDUSTRIES",
    "LEAD_SOURCE_SHARE", "LEAD_SOURCES", "MAIN_PRODUCT", "MID_TERM_FACTOR", "N_MONTHS", "PLAN_BY_SEGMENT", "PLANS",
    "PLAYBOOK_EFFECTS", "PLAYBOOK_KEYS", "PRICE_PER_SEAT", "REGION_SHARE", "REGIONS", "RENEWAL_MONTH_FACTOR",
    "SEGMENT_ARR_MEDIAN", "SEGMENT_SHARE", "SEGMENTS", "TICKET_PRIORITIES", "W_CHAMPION_MISSING", "W_CHAMPION_NEW",
    "W_LOW_NPS", "W_LOW_UTILISATION", "W_PAYMENT", "W_SUPPORT", "W_USAGE_DECLINE",
    "SampleSummary", "build_sample", "generate_sample", "write_sample",
]
