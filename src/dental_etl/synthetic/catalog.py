"""The practice's fixed vocabulary: procedure codes with their fees, definition categories and
items, carriers, recall and appointment types. Plain data, no randomness."""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    code: str
    descript: str
    abbr: str
    category: str  # ProcCodeCats item name
    treat_area: int  # TreatmentArea: 1 Surf, 2 Tooth, 3 Mouth, 4 Quad, 6 Arch
    minutes: int
    fee: float  # the practice's standard (UCR) fee
    coverage: str  # prev / basic / major / none: the insurance percentage class
    paint: int = 0  # ToothPaintingType
    hygiene: bool = False
    prosth: bool = False
    base_units: int = 0
    no_bill_ins: bool = False


# fmt: off
CODES: tuple[Code, ...] = (
    Code("D0120", "periodic oral evaluation - established patient",
         "PerEx", "Exams & Xrays", 3, 10, 62, "prev"),
    Code("D0140", "limited oral evaluation - problem focused", "LimEx", "Exams & Xrays", 3, 15, 85, "prev"),
    Code("D0150", "comprehensive oral evaluation - new or established patient",
         "CompEx", "Exams & Xrays", 3, 20, 105, "prev"),
    Code("D0180", "comprehensive periodontal evaluation", "PerioEx", "Exams & Xrays", 3, 20, 115, "prev"),
    Code("D0210", "intraoral - complete series of radiographic images",
         "FMX", "Exams & Xrays", 3, 20, 145, "prev"),
    Code("D0220", "intraoral - periapical first radiographic image", "PA", "Exams & Xrays", 2, 5, 35, "prev"),
    Code("D0230", "intraoral - periapical each additional radiographic image",
         "PA+", "Exams & Xrays", 2, 5, 28, "prev"),
    Code("D0272", "bitewings - two radiographic images", "2BW", "Exams & Xrays", 3, 10, 55, "prev"),
    Code("D0274", "bitewings - four radiographic images", "4BW", "Exams & Xrays", 3, 10, 72, "prev"),
    Code("D0330", "panoramic radiographic image", "Pano", "Exams & Xrays", 3, 10, 125, "prev"),
    Code("D1110", "prophylaxis - adult", "Pro", "Cleanings", 3, 40, 125, "prev", hygiene=True),
    Code("D1120", "prophylaxis - child", "ChPro", "Cleanings", 3, 30, 90, "prev", hygiene=True),
    Code("D1206", "topical application of fluoride varnish",
         "Flo", "Cleanings", 3, 5, 55, "prev", hygiene=True),
    Code("D1351", "sealant - per tooth", "Seal", "Cleanings", 2, 15, 58, "prev", paint=13, hygiene=True),
    Code("D2140", "amalgam - one surface, primary or permanent",
         "A1", "Fillings", 1, 40, 140, "basic", paint=5),
    Code("D2150", "amalgam - two surfaces, primary or permanent",
         "A2", "Fillings", 1, 50, 175, "basic", paint=5),
    Code("D2330", "resin-based composite - one surface, anterior",
         "C1A", "Fillings", 1, 40, 165, "basic", paint=6),
    Code("D2331", "resin-based composite - two surfaces, anterior",
         "C2A", "Fillings", 1, 50, 205, "basic", paint=6),
    Code("D2391", "resin-based composite - one surface, posterior",
         "C1P", "Fillings", 1, 40, 185, "basic", paint=6),
    Code("D2392", "resin-based composite - two surfaces, posterior",
         "C2P", "Fillings", 1, 50, 235, "basic", paint=6),
    Code("D2393", "resin-based composite - three surfaces, posterior",
         "C3P", "Fillings", 1, 60, 290, "basic", paint=6),
    Code("D2740", "crown - porcelain/ceramic", "PFZ", "Crowns", 2, 90, 1250, "major", paint=8, prosth=True),
    Code("D2750", "crown - porcelain fused to high noble metal",
         "PFM", "Crowns", 2, 90, 1150, "major", paint=7, prosth=True),
    Code("D2950", "core buildup, including any pins when required",
         "BU", "Crowns", 2, 30, 275, "major", paint=4),
    Code("D2954", "prefabricated post and core in addition to crown",
         "Post", "Crowns", 2, 30, 320, "major", paint=4),
    Code("D3310", "endodontic therapy, anterior tooth",
         "RCTAnt", "Root Canals", 2, 75, 850, "basic", paint=3),
    Code("D3320", "endodontic therapy, premolar tooth",
         "RCTPre", "Root Canals", 2, 90, 975, "basic", paint=3),
    Code("D3330", "endodontic therapy, molar tooth", "RCTMol", "Root Canals", 2, 105, 1150, "basic", paint=3),
    Code("D4341", "periodontal scaling and root planing - four or more teeth per quadrant",
         "SRP4+", "Periodontics", 4, 45, 260, "basic", hygiene=True),
    Code("D4342", "periodontal scaling and root planing - one to three teeth per quadrant",
         "SRP1-3", "Periodontics", 4, 30, 180, "basic", hygiene=True),
    Code("D4355", "full mouth debridement", "FMD", "Periodontics", 3, 60, 175, "basic", hygiene=True),
    Code("D4910", "periodontal maintenance", "PerMaint", "Periodontics", 3, 60, 185, "basic", hygiene=True),
    Code("D7140", "extraction, erupted tooth or exposed root",
         "Ext", "Oral Surgery", 2, 40, 195, "basic", paint=1),
    Code("D7210", "extraction, erupted tooth requiring removal of bone",
         "SurgExt", "Oral Surgery", 2, 60, 325, "basic", paint=1),
    Code("D7240", "removal of impacted tooth - completely bony",
         "ImpExt", "Oral Surgery", 2, 75, 525, "basic", paint=1),
    Code("D5110", "complete denture - maxillary",
         "FUD", "Prosthodontics", 6, 60, 1850, "major", paint=12, prosth=True),
    Code("D6240", "pontic - porcelain fused to high noble metal",
         "Pontic", "Prosthodontics", 2, 60, 1150, "major", paint=9, prosth=True),
    Code("D6010", "surgical placement of implant body: endosteal implant",
         "Impl", "Implants", 2, 105, 2100, "major", paint=2),
    Code("D6065", "implant supported porcelain/ceramic crown",
         "ImpCrn", "Implants", 2, 45, 1600, "major", paint=8, prosth=True),
    Code("D9110", "palliative treatment of dental pain - per visit", "Pall", "Misc", 3, 30, 95, "basic"),
    Code("D9230", "inhalation of nitrous oxide/analgesia, anxiolysis", "N2O", "Misc", 3, 5, 75, "none"),
    Code("D9223", "deep sedation/general anesthesia - each 15 minute increment",
         "Sed15", "Misc", 3, 15, 225, "basic", base_units=1),
    Code("D9944", "occlusal guard - hard appliance, full arch", "NG", "Misc", 6, 30, 550, "none"),
    Code("D9972", "external bleaching - per arch - performed in office",
         "Bleach", "Misc", 6, 60, 350, "none", no_bill_ins=True),
    Code("D9986", "missed appointment", "Missed", "Misc", 3, 0, 50, "none", no_bill_ins=True),
    Code("D9987", "cancelled appointment", "Cancel", "Misc", 3, 0, 0, "none", no_bill_ins=True),
    # the office"s own code (OpenDental allows any): the membership plan"s monthly fee
    Code("MEMB", "membership plan - monthly fee", "Memb", "Misc", 3, 0, 29, "none", no_bill_ins=True),
)
# fmt: on
CODE_INDEX = {c.code: i for i, c in enumerate(CODES)}

# Insurance pays this share of the allowed fee per coverage class.
COVERAGE_PERCENT = {"prev": 100, "basic": 80, "major": 50, "none": 0}

# Restorative findings at an exam: (code, relative frequency). Fillings are most of them by count;
# crowns, endodontics, implants and prosthetics carry much of the value.
FINDINGS: tuple[tuple[str, float], ...] = (
    ("D2391", 24),
    ("D2392", 20),
    ("D2393", 9),
    ("D2330", 5),
    ("D2331", 3),
    ("D2140", 1),
    ("D2150", 1),
    ("D2740", 10),
    ("D2750", 3),
    ("D2954", 0.5),
    ("D3310", 0.7),
    ("D3320", 1),
    ("D3330", 2.3),
    ("D4341", 3),
    ("D4342", 1.5),
    ("D7140", 4),
    ("D7210", 1.5),
    ("D7240", 0.8),
    ("D6010", 1.2),
    ("D6065", 1),
    ("D6240", 0.4),
    ("D5110", 0.3),
    ("D9944", 1.5),
    ("D9972", 0.7),
    ("D1351", 2),
)

# (category name, DefCat number, [(ItemName, ItemValue), ...]) — every category the data references.
DEFINITIONS: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...] = (
    (
        "AdjTypes",
        1,
        (
            ("Finance Charge", "+"),
            ("Billing Charge", "+"),
            ("Returned Check Fee", "+"),
            ("Misc Charge", "+"),
            ("Cash Discount", "-"),
            ("Membership Discount", "-"),
            ("Senior Discount", "-"),
            ("Professional Courtesy", "-"),
            ("Bad Debt Write-off", "-"),
            ("Insurance Adjustment", "-"),
            ("Misc Credit", "-"),
        ),
    ),
    (
        "ApptConfirmed",
        2,
        (
            ("Not Called", "NotCall"),
            ("Unconfirmed", "Unconf"),
            ("Left Msg", "LeftMsg"),
            ("Texted", "Text"),
            ("Confirmed", "Conf"),
            ("Arrived", "Arrived"),
            ("In Chair", "InChair"),
            ("Dismissed", "Dismiss"),
        ),
    ),
    (
        "BillingTypes",
        4,
        (
            ("Standard Account", ""),
            ("Insurance Only", ""),
            ("Collections", "C"),
            ("No Statements", "E"),
        ),
    ),
    (
        "PaymentTypes",
        10,
        (
            ("Check", ""),
            ("Cash", ""),
            ("Credit Card", ""),
            ("Debit Card", ""),
            ("CareCredit", ""),
            ("Online Payment", ""),
        ),
    ),
    (
        "ProcCodeCats",
        11,
        (
            ("Exams & Xrays", ""),
            ("Cleanings", ""),
            ("Fillings", ""),
            ("Crowns", ""),
            ("Root Canals", ""),
            ("Periodontics", ""),
            ("Oral Surgery", ""),
            ("Prosthodontics", ""),
            ("Implants", ""),
            ("Misc", ""),
        ),
    ),
    (
        "RecallUnschedStatus",
        13,
        (
            ("Left Msg", ""),
            ("Texted", ""),
            ("Will Call Back", ""),
            ("Scheduled Elsewhere", ""),
            ("Do Not Call", ""),
        ),
    ),
    (
        "Diagnosis",
        16,
        (
            ("Caries", ""),
            ("Fractured Tooth", ""),
            ("Periodontal Disease", ""),
            ("Abscess", ""),
            ("Missing Tooth", ""),
            ("Worn Restoration", ""),
        ),
    ),
    (
        "ImageCats",
        18,
        (
            ("BWs", "XS"),
            ("FMXs", "X"),
            ("Panos", "X"),
            ("Photos", "P"),
            ("Insurance Cards", "S"),
            ("Forms", "S"),
            ("Tooth Charts", "T"),
        ),
    ),
    ("TxPriorities", 20, (("1 - Urgent", ""), ("2 - Soon", ""), ("3 - Elective", ""), ("Watch", ""))),
    ("BlockoutTypes", 25, (("Lunch", ""), ("Staff Meeting", ""), ("Emergency Slot", ""))),
    (
        "CommLogTypes",
        27,
        (
            ("Appointment Related", "APPT"),
            ("Financial", "FIN"),
            ("Recall", "RECALL"),
            ("Insurance", "INS"),
            ("Misc", "MISC"),
            ("Text Message", "TEXT"),
        ),
    ),
    ("PaySplitUnearnedType", 29, (("Prepayment", ""), ("Treatment Plan Prepayment", "X"))),
    ("Prognosis", 30, (("Good", ""), ("Fair", ""), ("Poor", ""))),
    ("InsurancePaymentType", 32, (("Check", ""), ("EFT", ""))),
    ("TaskPriorities", 33, (("Normal", "D"), ("High", ""))),
    (
        "ProviderSpecialties",
        35,
        (
            ("General", ""),
            ("Hygienist", ""),
            ("Endodontics", ""),
            ("Orthodontics", ""),
            ("Oral Surgery", ""),
            ("Periodontics", ""),
            ("Pediatric", ""),
        ),
    ),
    ("ClaimPaymentTracking", 36, (("Paid In Full", ""), ("Partial Payment", ""), ("Denied", ""))),
    ("Regions", 39, (("North", ""), ("South", ""))),
    ("ClaimPaymentGroups", 40, (("Default", ""),)),
    ("PayPlanCategories", 47, (("Standard", ""), ("In-House Financing", ""))),
    ("TaskCategories", 54, (("Front Desk", ""), ("Clinical", ""), ("Billing", ""))),
    ("OperatoryTypes", 55, (("Restorative", ""), ("Hygiene", ""))),
)

CARRIERS: tuple[str, ...] = (
    "Delta Dental",
    "MetLife",
    "Cigna Dental",
    "Aetna Dental",
    "Guardian",
    "United Concordia",
    "Humana Dental",
    "Blue Cross Blue Shield",
    "Principal Financial Group",
    "Ameritas",
    "Sun Life Financial",
    "Lincoln Financial",
    "DentaQuest",
    "Anthem",
    "UnitedHealthcare Dental",
    "Careington",
    "Renaissance Dental",
    "Physicians Mutual",
    "Spirit Dental",
    "Dominion Dental",
)

# PPO networks: (fee schedule name, share of the standard fee the plan allows)
PPO_SCHEDULES: tuple[tuple[str, float], ...] = (
    ("Delta Dental PPO", 0.74),
    ("Cigna DPPO", 0.66),
    ("MetLife PDP", 0.70),
    ("Aetna PPO", 0.68),
)

# (Description, DefaultInterval packed, TimePattern, Procedures)
RECALL_TYPES: tuple[tuple[str, int, str, str], ...] = (
    ("Prophy", 393216, "/XXXX/", "D0120,D1110"),
    ("Child Prophy", 393216, "/XXX/", "D0120,D1120,D1206"),
    ("Perio", 196608, "/XXXXXX/", "D4910"),
    ("4BW", 16777216, "", "D0274"),
    ("FMX", 50331648, "", "D0210"),
)

APPOINTMENT_TYPES: tuple[tuple[str, str], ...] = (
    ("New Patient", "D0150,D0210,D1110"),
    ("Recall", "D0120,D1110"),
    ("Restorative", ""),
    ("Emergency", "D0140,D0220"),
    ("Crown Seat", "D2740"),
)


def packed_interval(years: int = 0, months: int = 0, weeks: int = 0, days: int = 0) -> int:
    """recall.RecallInterval: years in bits 24-31, months 16-23, weeks 8-15, days 0-7."""
    return (years << 24) | (months << 16) | (weeks << 8) | days
