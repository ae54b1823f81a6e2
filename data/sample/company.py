"""The sample company's parameters: CSMs, segments, plans, prices, event types, the planted churn
causes and playbook effects, the true-hazard weights, and the name pools accounts and contacts draw from."""

from __future__ import annotations

import numpy as np

CSM_NAMES: list[str] = [
    "Maya Patel",
    "Jonas Weber",
    "Sofia Alvarez",
    "Liam O'Connor",
    "Aiko Tanaka",
    "Noah Johnson",
    "Amara Okafor",
    "Lucas Martin",
]
# Share of the accounts each CSM owns, and the factor their book's hazard is multiplied by.
CSM_BOOK_SHARE = np.array([0.19, 0.16, 0.15, 0.13, 0.11, 0.10, 0.09, 0.07])
CSM_QUALITY = np.array([0.85, 0.95, 1.10, 0.90, 1.25, 1.00, 1.15, 1.35])

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
SEGMENT_SHARE = [0.6, 0.3, 0.1]
SEGMENT_ARR_MEDIAN = np.array([3_000.0, 30_000.0, 200_000.0])
PLANS = ["Starter", "Growth", "Business", "Enterprise"]
PLAN_BY_SEGMENT = np.array([[0.60, 0.35, 0.05, 0.0], [0.0, 0.40, 0.50, 0.10], [0.0, 0.0, 0.25, 0.75]])
PRICE_PER_SEAT = np.array([25.0, 42.0, 65.0, 105.0])
INDUSTRIES = ["Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Education",
              "Media", "Logistics", "Professional Services", "Real Estate", "Non-profit", "Telecom"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
REGION_SHARE = [0.45, 0.30, 0.15, 0.10]
LEAD_SOURCES = ["Inbound", "Outbound", "Partner", "Event"]
LEAD_SOURCE_SHARE = [0.40, 0.30, 0.15, 0.15]
MAIN_PRODUCT = "Platform"
ADDON_PRODUCT = "Insights Add-on"
EVENT_TYPES = ["login", "core_action", "report_run", "integration_sync", "user_invite", "data_export"]
TICKET_PRIORITIES = ["low", "normal", "high", "urgent"]
CONTACT_ROLES = ["champion", "admin", "executive", "user"]

CAUSES: list[tuple[str, str]] = [
    ("usage_decline", "Usage"),
    ("low_seat_utilisation", "Adoption"),
    ("support_pain", "Support"),
    ("payment_failures", "Billing"),
    ("champion_loss", "Relationship"),
    ("low_nps", "Sentiment"),
    ("renewal_month", "Contract"),
]

# playbook -> (hazard multiplier, expansion multiplier, description) for treated accounts, 90 days.
PLAYBOOK_EFFECTS: dict[str, tuple[float, float, str]] = {
    "usage_drop": (0.6, 1.0, "Re-engagement after a usage drop: churn hazard x0.6 for 90 days"),
    "payment_failure": (0.5, 1.0, "Billing follow-up after a failed payment: churn hazard x0.5 for 90 days"),
    "champion_loss": (0.7, 1.0, "New-champion outreach after champion loss: churn hazard x0.7 for 90 days"),
    "support_pain": (0.75, 1.0, "Escalation review for support pain: churn hazard x0.75 for 90 days"),
    "low_nps": (1.0, 1.0, "Detractor follow-up after low NPS: no effect on churn (planted null)"),
    "renewal_90d": (0.7, 1.0, "Renewal preparation 90 days ahead: churn hazard x0.7 for 90 days"),
    "expansion": (1.0, 1.8, "Expansion offer to healthy high-utilisation accounts: expansion probability x1.8"),
}
PLAYBOOK_KEYS = list(PLAYBOOK_EFFECTS)
HOLDOUT_SHARE = 0.2

N_MONTHS = 24
DAILY_ACTIVE_SHARE = 0.7  # of the monthly active users (seats x utilisation), on a weekday
EVENT_CHUNK = 2000  # accounts per event-generation chunk; fixed so output never depends on memory

# True hazard: monthly base per segment and log-multipliers per planted cause.
BASE_HAZARD = np.array([0.0076, 0.0038, 0.0027])
W_USAGE_DECLINE = 3.0  # x e^(3 * fractional drop of the last 30 days vs the previous 60)
W_LOW_UTILISATION = 1.6  # x e^(1.6 * how far utilisation is below 35 %, 0..1)
W_SUPPORT = 0.35  # per weighted high/urgent ticket of the last two months (capped at 4)
W_PAYMENT = 0.75  # per failed invoice of the last three months (capped at 3)
W_CHAMPION_MISSING = 0.95
W_CHAMPION_NEW = 0.35
W_LOW_NPS = 0.22  # per point below 7 of the latest NPS answer of the last six months
RENEWAL_MONTH_FACTOR = 7.5  # annual contracts: hazard in the renewal month ...
MID_TERM_FACTOR = 0.12  # ... and in the other months
HAZARD_CAP = 0.9

_PREFIXES = ["Acme", "Apex", "Atlas", "Aurora", "Beacon", "Blue", "Bright", "Cedar", "Cobalt", "Crescent",
             "Delta", "Ember", "Evergreen", "Falcon", "Granite", "Harbor", "Horizon", "Iron", "Juniper",
             "Keystone", "Lumen", "Maple", "Meridian", "Nimbus", "North", "Oak", "Onyx", "Orbit", "Pioneer",
             "Polaris", "Quantum", "Red", "Ridge", "River", "Sable", "Sierra", "Silver", "Summit", "Sun",
             "Terra", "Tidal", "Union", "Vertex", "Vista", "Willow", "Zenith", "Copper", "Pine", "Stone",
             "Swift", "Amber", "Arrow", "Birch", "Coral", "Echo", "Golden", "Indigo", "Jade", "Lunar", "Nova"]
_NOUNS = ["Bay", "Bridge", "Brook", "Canyon", "Cloud", "Coast", "Creek", "Crest", "Field", "Forge", "Gate",
          "Grove", "Hill", "Lake", "Leaf", "Light", "Line", "Mark", "Mill", "Path", "Peak", "Point", "Port",
          "Rock", "Shore", "Sky", "Spring", "Star", "Stream", "Valley", "Wave", "Wind", "Wood", "Yard",
          "Bird", "Fox", "Hawk", "Wolf", "Bear", "Pine", "Harbor", "Mesa", "Ridge", "Field", "Sail", "Key",
          "Loop", "Ward", "Vale", "Moor"]
_NOUNS = list(dict.fromkeys(_NOUNS))
_SUFFIXES = ["Labs", "Systems", "Group", "Partners", "Health", "Logistics", "Foods", "Capital", "Media",
             "Software", "Technologies", "Industries", "Solutions", "Holdings", "Consulting", "Studio",
             "Networks", "Energy", "Retail", "Robotics", "Bank", "Insurance", "Learning", "Motors", "Supply"]
_FIRST_NAMES = ["Anna", "Ben", "Carla", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jack", "Kira",
                "Leo", "Mia", "Nils", "Olivia", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
                "Will", "Xenia", "Yusuf", "Zoe", "Arjun", "Bea", "Chen", "Dara", "Emil", "Fatima", "Gabe",
                "Hana", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nora", "Omar", "Priya", "Ravi", "Sara",
                "Tom", "Uma", "Victor", "Wen", "Yara", "Zane"]
_LAST_NAMES = ["Smith", "Garcia", "Müller", "Kim", "Nguyen", "Rossi", "Silva", "Brown", "Cohen", "Dubois",
               "Evans", "Fischer", "Gupta", "Hansen", "Ito", "Jensen", "Khan", "Lopez", "Moreau", "Novak",
               "Olsen", "Park", "Quinn", "Reyes", "Schmidt", "Taylor", "Ueda", "Varga", "Wang", "Young",
               "Zhang", "Ahmed", "Becker", "Costa", "Diaz", "Eriksen", "Fontaine", "Gomez", "Hughes", "Iyer"]
_NPS_COMMENTS = {
    "detractor": ["Too many bugs lately.", "Support takes forever to answer.", "Hard to get my team to use it.",
                  "Billing problems again.", "Not worth the price for us.", "Missing features we need.",
                  "Performance has been poor.", "We are evaluating alternatives."],
    "passive": ["Does the job.", "Fine, but reporting could be better.", "OK overall, some rough edges.",
                "Good product, onboarding was slow.", "Decent value.", "Works, integrations could improve."],
    "promoter": ["Love it, the team uses it daily.", "Great support and product.", "Saves us hours every week.",
                 "Best tool we have adopted this year.", "Excellent reporting.", "Highly recommend."],
}


