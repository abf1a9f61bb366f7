#!/usr/bin/env python3
"""Independent count of the registration indicators (test_indicators.sh).

Nothing here calls the hub's SQL: the indicators are computed again from the
generated JSON documents, with the definitions of docs/indicators.md, and
compared with what `crvsctl stats --csv` printed.

  prepare DIR   reads DIR/{birth-certificate,death-notice,divorce-judgment}.gen.jsonl
                (crvsctl loadgen output), adds hand-made cases (Hà Giang and
                Kiên Giang before the reform, retired province and court
                codes still sent on and after it, an injury code and a missing
                code as underlying cause, maternal deaths, child marriages),
                writes DIR/<topic>.jsonl to publish, DIR/marriages.csv to load
                and DIR/plan.txt: one stats query per line
                (NAME|FROM|TO|BY|UNITS|PARAM|UNIT).
  check DIR TODAY
                reads DIR/<topic>.jsonl and DIR/actual.N.csv (the stats output
                of plan line N) and compares every figure; exit 1 on any
                difference. Prints aggregates only, never personal data.
"""
import copy
import csv
import datetime as dt
import json
import math
import re
import sys
from fractions import Fraction

TOPICS = ("birth-certificate", "death-notice", "divorce-judgment")
REFORM = dt.date(2025, 7, 1)
LOCAL = dt.timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving

# Legacy province -> current province since 1 July 2025 (docs/domain.md).
MERGED = {"02": "08", "06": "19", "10": "15", "17": "25", "26": "25", "27": "24", "30": "31",
          "34": "33", "35": "37", "36": "37", "45": "44", "49": "48", "54": "66", "58": "56",
          "60": "68", "62": "51", "64": "52", "67": "68", "70": "75", "72": "80", "74": "79",
          "77": "79", "83": "86", "84": "86", "87": "82", "89": "91", "93": "92", "94": "92",
          "95": "96"}
# The 34 provinces since the reform, each keeping the code of one
# predecessor; the 63 before it are these and the ones merged away.
CURRENT = {"01", "04", "08", "11", "12", "14", "15", "19", "20", "22", "24", "25", "31", "33",
           "37", "38", "40", "42", "44", "46", "48", "51", "52", "56", "66", "68", "75", "79",
           "80", "82", "86", "91", "92", "96"}
LEGACY = CURRENT | set(MERGED)
CHAPTERS = [("I", "A00", "B99"), ("II", "C00", "D48"), ("III", "D50", "D89"),
            ("IV", "E00", "E90"), ("V", "F00", "F99"), ("VI", "G00", "G99"),
            ("VII", "H00", "H59"), ("VIII", "H60", "H95"), ("IX", "I00", "I99"),
            ("X", "J00", "J99"), ("XI", "K00", "K93"), ("XII", "L00", "L99"),
            ("XIII", "M00", "M99"), ("XIV", "N00", "N99"), ("XV", "O00", "O99"),
            ("XVI", "P00", "P96"), ("XVII", "Q00", "Q99"), ("XVIII", "R00", "R99"),
            ("XIX", "S00", "T98"), ("XX", "V01", "Y98"), ("XXI", "Z00", "Z99"),
            ("XXII", "U00", "U99")]
NAMES = {"L02": "Hà Giang", "08": "Tuyên Quang", "L08": "Tuyên Quang", "L91": "Kiên Giang",
         "91": "An Giang", "L89": "An Giang"}


def ts(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def local_date(text):
    return (ts(text) + LOCAL).date()


def date(text):
    return dt.date.fromisoformat(text)


def age(born, on):
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def unit(code, on, units):
    """docs/indicators.md, "Unit rule": a code in force on the date is its
    unit; a former province's code (before the reform, or still sent after
    it) is today's province or its legacy unit; any other code, none."""
    if code is None:
        return None
    if on >= REFORM and code in CURRENT:
        return code
    if code not in LEGACY:
        return None
    return MERGED.get(code, code) if units == "current" else "L" + code


def chapter(cat):
    for roman, lo, hi in CHAPTERS:
        if lo <= cat <= hi:
            return roman
    return "?"


def hours(frm, to):
    return Fraction((to - frm) // dt.timedelta(microseconds=1), 3600 * 10 ** 6)


def mother_group(a):
    if a is None:
        return "unknown"
    if a < 18:
        return "<18"
    if a < 20:
        return "18-19"
    if a >= 45:
        return "45+"
    return "%d-%d" % (a // 5 * 5, a // 5 * 5 + 4)


def death_group(a):
    if a is None:
        return "unknown"
    if a == 0:
        return "0"
    if a < 5:
        return "1-4"
    if a >= 85:
        return "85+"
    return "%d-%d" % (a // 5 * 5, a // 5 * 5 + 4)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def business_key(topic, doc):
    if topic == "birth-certificate":
        return (doc["facility"]["code"], doc["certificate_number"])
    if topic == "death-notice":
        return (doc["facility"]["code"], doc["notice_number"])
    return (doc["court"]["code"], doc["judgment_number"])


def invalid(topic, doc):
    """loadgen numbers the records it spoils with an X."""
    number = business_key(topic, doc)[1]
    return number.startswith(("GCS-X", "GBT-X", "X"))


# ---- prepare --------------------------------------------------------------

def renumber(topic, doc, n):
    doc["event_id"] = "00000000-0000-4000-8000-%012d" % n
    if topic == "birth-certificate":
        doc["certificate_number"] = "GCS-T%06d" % n
    elif topic == "death-notice":
        doc["notice_number"] = "GBT-T%06d" % n
    else:
        doc["judgment_number"] = "T%d/2025/HNGĐ-ST" % n


def moved(text, delta):
    """A timestamp string moved by a timedelta of whole days."""
    t = ts(text) + delta
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def hand_made_births(births):
    # the last three: a retired code still sent on and after the reform day
    cases = [("02", dt.date(2025, 3, 10)), ("02", dt.date(2025, 6, 30)), ("02", dt.date(2024, 12, 1)),
             ("08", dt.date(2025, 2, 1)), ("91", dt.date(2025, 4, 1)), ("91", dt.date(2025, 6, 29)),
             ("89", dt.date(2025, 1, 15)), ("91", dt.date(2025, 9, 1)),
             ("02", dt.date(2025, 7, 1)), ("02", dt.date(2025, 9, 15)), ("89", dt.date(2025, 8, 1))]
    base = [d for d in births if not invalid("birth-certificate", d)
            and d["child"]["plurality"] == 1][:len(cases)]
    out = []
    for i, ((code, day), src) in enumerate(zip(cases, base)):
        doc = copy.deepcopy(src)
        renumber("birth-certificate", doc, 100 + i)
        delta = day - local_date(doc["child"]["birth_time"])
        doc["child"]["birth_time"] = moved(doc["child"]["birth_time"], delta)
        doc["issued_at"] = moved(doc["issued_at"], delta)
        doc["mother"]["birth_date"] = (date(doc["mother"]["birth_date"]) + delta).isoformat()
        if "father" in doc and "birth_date" in doc["father"]:
            doc["father"]["birth_date"] = (date(doc["father"]["birth_date"]) + delta).isoformat()
        for parent in ("mother", "father"):
            if parent in doc:
                doc[parent].pop("personal_id", None)
        doc["child"]["place"]["province_code"] = code
        doc["child"]["place"]["commune_code"] = code + "001"
        mother = doc["mother"]
        mother.get("residence", {})["province_code"] = code
        mother.get("residence", {})["commune_code"] = code + "001"
        out.append(doc)
    return out


def hand_made_deaths(deaths):
    valid = [d for d in deaths if not invalid("death-notice", d)]
    out = []
    n = 200
    # an injury code as underlying cause (from its part I), and a notice
    # without an underlying cause
    for src in [d for d in valid if d["underlying_cause"] == "V89.2"][:3]:
        doc = copy.deepcopy(src)
        renumber("death-notice", doc, n)
        n += 1
        doc["underlying_cause"] = "S06.9"
        out.append(doc)
    for src in valid[:4]:
        doc = copy.deepcopy(src)
        renumber("death-notice", doc, n)
        n += 1
        del doc["underlying_cause"]
        out.append(doc)
    # maternal deaths: women of 30 with a postpartum haemorrhage
    women = [d for d in valid if d["deceased"]["sex"] == "FEMALE"]
    for src in women[:3]:
        doc = copy.deepcopy(src)
        renumber("death-notice", doc, n)
        n += 1
        died = local_date(doc["death_time"])
        doc["deceased"]["birth_date"] = dt.date(died.year - 30, died.month, min(died.day, 28)).isoformat()
        doc["deceased"].pop("personal_id", None)
        doc["part1"] = [{"text": "Sốc mất máu", "icd10": "R57.1", "interval": "3 giờ"},
                        {"text": "Băng huyết sau sinh", "icd10": "O72.1", "interval": "4 giờ"}]
        doc["underlying_cause"] = "O72.1"
        doc["manner"] = "DISEASE"
        doc["pregnancy"] = "WITHIN_42_DAYS"
        doc.pop("injury", None)
        out.append(doc)
    # Hà Giang and Kiên Giang before the reform
    olds = [d for d in valid if local_date(d["death_time"]) >= dt.date(2025, 1, 10)
            and d["underlying_cause"] in ("I21.9", "I64")]
    # (and the last three: a retired code still sent on and after the
    # reform day)
    cases = [("02", dt.date(2025, 1, 5)), ("91", dt.date(2025, 5, 20)), ("02", dt.date(2025, 6, 30)),
             ("02", dt.date(2025, 7, 1)), ("89", dt.date(2025, 10, 10))]
    assert len(olds) >= len(cases), "too few deaths to move"
    for (code, day), src in zip(cases, olds):
        doc = copy.deepcopy(src)
        renumber("death-notice", doc, n)
        n += 1
        born = date(doc["deceased"]["birth_date"])
        delta = local_date(doc["death_time"]) - day
        doc["deceased"]["birth_date"] = (born - delta).isoformat()
        doc["deceased"].pop("personal_id", None)
        doc["death_time"] = moved(doc["death_time"], -delta)
        doc["issued_at"] = moved(doc["issued_at"], -delta)
        doc["place"]["province_code"] = code
        doc["deceased"]["residence"]["province_code"] = code
        doc["deceased"]["residence"]["commune_code"] = code + "002"
        out.append(doc)
    return out


def hand_made_divorces(divorces):
    valid = [d for d in divorces if not invalid("divorce-judgment", d)
             and d["kind"] == "CONSENSUAL_DIVORCE" and "marriage" in d
             and all("birth_date" in d[s] for s in ("spouse_a", "spouse_b"))]
    out = []
    for i, src in enumerate(valid[:3]):  # married when the wife was 17
        doc = copy.deepcopy(src)
        renumber("divorce-judgment", doc, 300 + i)
        wife = doc["spouse_a"] if doc["spouse_a"]["sex"] == "FEMALE" else doc["spouse_b"]
        born = date(wife["birth_date"])
        reg = dt.date(born.year + 17, born.month, min(born.day, 28)) + dt.timedelta(days=30)
        if reg >= date(doc["decision_date"]):
            continue
        doc["marriage"]["registration_date"] = reg.isoformat()
        doc["marriage"]["registration_number"] = "T%d/%d" % (i, reg.year)
        out.append(doc)
    # a court in Hà Giang deciding before the reform, effective after it
    for i, src in enumerate(valid[3:5]):
        doc = copy.deepcopy(src)
        renumber("divorce-judgment", doc, 310 + i)
        doc["court"]["code"] = "TA02%02d" % (i + 1)
        doc["decision_date"] = "2025-06-20"
        doc["effective_date"] = "2025-07-20" if i == 0 else "2025-06-20"
        eff = date(doc["effective_date"])
        issued = dt.datetime.combine(eff, dt.time(9, 0)) - LOCAL
        doc["issued_at"] = issued.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        doc.pop("marriage", None)
        out.append(doc)
    # courts of former provinces deciding on and after the reform day: their
    # codes are retired, the judgments still count (under today's province)
    for i, (court, decided) in enumerate([("TA0201", dt.date(2025, 7, 1)),
                                           ("TA8901", dt.date(2025, 9, 1))]):
        doc = copy.deepcopy(valid[-1 - i])
        renumber("divorce-judgment", doc, 315 + i)
        doc["court"]["code"] = court
        doc["decision_date"] = decided.isoformat()
        eff = decided + dt.timedelta(days=20)
        doc["effective_date"] = eff.isoformat()
        issued = dt.datetime.combine(eff, dt.time(9, 0)) - LOCAL
        doc["issued_at"] = issued.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        doc.pop("marriage", None)
        out.append(doc)
    # effective yesterday and today (local): synchronised within a day
    # (courts coded as since the reform; issued_at not in the future)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    today = (now + LOCAL).date()
    recent = [d for d in valid[5:] if date(d["decision_date"]) >= REFORM]
    for i, src in enumerate(recent[:4]):
        doc = copy.deepcopy(src)
        renumber("divorce-judgment", doc, 320 + i)
        eff = today - dt.timedelta(days=i % 2)
        doc["decision_date"] = (eff - dt.timedelta(days=30)).isoformat()
        doc["effective_date"] = eff.isoformat()
        issued = min(dt.datetime.combine(eff, dt.time(0, 30)) - LOCAL, now - dt.timedelta(minutes=2))
        doc["issued_at"] = issued.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(doc)
    return out


def marriages(divorces):
    """Marriages to load: about half of the distinct ones the valid divorce
    records name with both spouses identified."""
    seen = {}
    for doc in divorces:
        m = doc.get("marriage")
        if invalid("divorce-judgment", doc) or not m or "registration_number" not in m \
                or "registry_office" not in m or "registration_date" not in m:
            continue
        a, b = doc["spouse_a"].get("personal_id"), doc["spouse_b"].get("personal_id")
        key = (m["registry_office"], m["registration_number"])
        seen.setdefault(key, []).append((m["registration_date"], a, b))
    rows = []
    for i, (key, names) in enumerate(sorted(seen.items())):
        if len(set(names)) != 1 or not names[0][1] or not names[0][2] or i % 2:
            continue
        rows.append(key + names[0])
    return rows


PLAN = [
    # NAME, FROM, TO, BY, UNITS, PARAM, UNIT
    ("births", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "unit", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "unit", "as-recorded", "", ""),
    ("births", "2025-01-01", "2025-06-30", "unit,sex", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "month", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "mother_age", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "plurality,place", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "sex", "current", "", "08"),
    ("births", "2024-01-01", "2026-12-31", "year", "as-recorded", "", "L02"),
    ("births", "2024-01-01", "2026-12-31", "year", "current", "", "91"),
    # retired codes still sent on and after the reform day (docs/indicators.md, "Unit rule")
    ("births", "2025-07-01", "2025-12-31", "unit", "current", "", ""),
    ("births", "2025-07-01", "2025-12-31", "unit", "as-recorded", "", ""),
    ("births", "2025-06-30", "2025-12-31", "year", "as-recorded", "", "L02"),
    ("births", "2025-06-30", "2025-12-31", "year", "current", "", "08"),
    ("deaths", "2025-06-30", "2025-12-31", "unit", "as-recorded", "", ""),
    ("deaths", "2025-06-30", "2025-12-31", "unit", "current", "", ""),
    ("divorces", "2025-07-01", "2025-12-31", "unit", "current", "", ""),
    ("divorces", "2025-07-01", "2025-12-31", "unit", "as-recorded", "", ""),
    ("births_sex_ratio", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("births_sex_ratio", "2025-01-01", "2025-12-31", "", "current", "", ""),
    ("births_low_weight", "2024-01-01", "2026-12-31", "unit", "current", "", ""),
    ("births_low_weight", "2024-01-01", "2026-12-31", "plurality", "current", "", ""),
    ("births_multiple", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("births_facility", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("births_timely", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("births_timely", "2024-01-01", "2026-12-31", "month", "current", "1", ""),
    ("deaths", "2024-01-01", "2026-12-31", "unit", "current", "", ""),
    ("deaths", "2024-01-01", "2026-12-31", "unit", "as-recorded", "", ""),
    ("deaths", "2024-01-01", "2026-12-31", "age_group,sex", "current", "", ""),
    ("deaths", "2025-01-01", "2025-12-31", "chapter", "current", "", ""),
    ("deaths", "2024-01-01", "2026-12-31", "category", "current", "", ""),
    ("deaths", "2024-01-01", "2026-12-31", "place,month", "current", "", ""),
    ("deaths_infant", "2024-01-01", "2026-12-31", "sex", "current", "", ""),
    ("deaths_neonatal", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("deaths_facility", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("deaths_coded", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("deaths_ill_defined", "2024-01-01", "2026-12-31", "sex", "current", "", ""),
    ("deaths_injury_underlying", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("deaths_maternal", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("deaths_timely", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("deaths_timely", "2024-01-01", "2026-12-31", "month", "current", "1", ""),
    ("deaths", "2024-01-01", "2026-12-31", "year", "current", "", "08"),
    ("deaths", "2024-01-01", "2026-12-31", "year", "current", "", "91"),
    ("divorces", "2024-01-01", "2026-12-31", "unit", "current", "", ""),
    ("divorces", "2024-01-01", "2026-12-31", "unit", "as-recorded", "", ""),
    ("divorces", "2024-01-01", "2026-12-31", "kind,year", "current", "", ""),
    ("divorce_sync_median", "2024-01-01", "2026-12-31", "kind", "current", "", ""),
    ("divorce_sync_median", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("divorce_sync_p90", "2024-01-01", "2026-12-31", "kind", "current", "", ""),
    ("divorce_sync_within", "2024-01-01", "2026-12-31", "year", "current", "", ""),
    ("divorce_sync_within", "2024-01-01", "2026-12-31", "", "current", "2", ""),
    ("divorce_sync_within", "2024-01-01", "2026-12-31", "month", "current", "", ""),
    ("divorce_sync_median", "2024-01-01", "2026-12-31", "month", "current", "", ""),
    ("divorce_court_delay_median", "2024-01-01", "2026-12-31", "kind", "current", "", ""),
    ("divorce_marriage_matched", "2024-01-01", "2026-12-31", "kind", "current", "", ""),
    ("divorce_child_marriage", "2024-01-01", "2026-12-31", "", "current", "", ""),
    ("births", "2024-01-01", "2026-12-31", "commune", "current", "", ""),
    ("births", "2025-07-01", "2026-12-31", "commune", "current", "", "08"),
    ("dead_letters", "TODAY", "TODAY", "topic", "current", "", ""),
    ("dead_letters", "TODAY", "TODAY", "topic,reason", "current", "", ""),
    ("dead_letters", "TODAY", "TODAY", "source_system,status", "current", "", ""),
    ("dead_letters", "TODAY", "TODAY", "", "current", "", ""),
    ("corrections", "TODAY", "TODAY", "topic", "current", "", ""),
    ("corrections", "TODAY", "TODAY", "topic,source_system", "current", "", ""),
    ("duplicates", "TODAY", "TODAY", "topic", "current", "", ""),
    ("duplicates", "TODAY", "TODAY", "source_system", "current", "", ""),
    ("reconciliation_open", "TODAY", "TODAY", "reason", "current", "", ""),
    ("reconciliation_open", "TODAY", "TODAY", "reason,source_system", "current", "", ""),
    ("reconciliation_resolved", "TODAY", "TODAY", "reason,source_system", "current", "", ""),
    ("reconciliation_resolved", "TODAY", "TODAY", "", "current", "", ""),
]


def prepare(folder):
    gen = {t: read_jsonl("%s/%s.gen.jsonl" % (folder, t)) for t in TOPICS}
    extra = {"birth-certificate": hand_made_births(gen["birth-certificate"]),
             "death-notice": hand_made_deaths(gen["death-notice"]),
             "divorce-judgment": hand_made_divorces(gen["divorce-judgment"])}
    for t in TOPICS:
        with open("%s/%s.jsonl" % (folder, t), "w", encoding="utf-8") as f:
            for doc in gen[t] + extra[t]:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    with open("%s/marriages.csv" % folder, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["registry_office", "registration_number", "registration_date",
                    "spouse_a_personal_id", "spouse_b_personal_id"])
        w.writerows(marriages(gen["divorce-judgment"] + extra["divorce-judgment"]))
    with open("%s/plan.txt" % folder, "w", encoding="utf-8") as f:
        for p in PLAN:
            f.write("|".join(p) + "\n")
    print("hand-made cases: %d births, %d deaths, %d divorces" %
          tuple(len(extra[t]) for t in TOPICS))


# ---- check ----------------------------------------------------------------

def refusal_reason(topic, doc):
    """Why the service refuses a record loadgen spoiled (services/ctl/
    ctl_loadgen*.c, spoil_*): the rule each spoiling breaks, by the reasons
    docs/schema-guide.md lists."""
    if topic == "birth-certificate":
        c = doc["child"]
        if c["birth_time"].startswith("2099"):
            return "validation.future_date"
        if c["weight_grams"] > 10000:
            return "validation.weight"
        if c["birth_order"] > c["plurality"]:
            return "validation.plurality"
        return "validation.personal_id"      # the mother's ID with a man's sex digit
    if topic == "death-notice":
        if doc["death_time"].startswith("2099"):
            return "validation.future_date"
        if (doc["deceased"].get("birth_date") or "").startswith("2099"):
            return "validation.death_before_birth"
        codes = {line.get("icd10") for line in doc.get("part1") or []}
        if any(c and not re.match(r"^[A-Z][0-9][0-9](\.[0-9])?$", c) for c in codes):
            return "validation.icd10"
        return "validation.underlying_cause"  # a cause not on the certificate
    if doc["decision_date"].startswith("2099"):
        return "validation.future_date"
    if doc["effective_date"] < doc["decision_date"]:
        return "validation.effective_before_decision"
    return "validation.personal_id"          # both spouses with one ID


def final_records(topic, docs, today):
    """The registry's content after the stream: the last version per key;
    plus one audit row per record stored (create, correct, duplicate) and one
    dead-letter row per refused record, all of them written today."""
    stored, content, audit, dead = {}, {}, [], []

    def note(rows, what, doc, reason=""):
        rows.append({"event_date": today, "action": what, "topic": topic, "reason": reason,
                     "status": "new", "source_system": doc["source_system"]})
    for doc in docs:
        if invalid(topic, doc):
            note(dead, "dead_letter", doc, refusal_reason(topic, doc))
            continue
        key = business_key(topic, doc)
        body = json.dumps({k: v for k, v in doc.items() if k != "event_id"}, sort_keys=True)
        if key in content:
            if content[key] == body:
                note(audit, "duplicate", doc)
                continue
            note(audit, "correct", doc)
        else:
            note(audit, "create", doc)
        content[key] = body
        stored[key] = doc
    return list(stored.values()), audit, dead


def birth_rows(docs):
    rows = []
    for d in docs:
        c = d["child"]
        day = local_date(c["birth_time"])
        mb = d["mother"].get("birth_date")
        rows.append({
            "event_date": day, "province": c["place"]["province_code"], "unit_date": day,
            "commune": c["place"].get("commune_code"), "sex": c["sex"], "mother_age": mother_group(age(date(mb), day) if mb else None),
            "plurality": str(c["plurality"]), "weight": c.get("weight_grams"),
            "place": "facility" if c["place"]["kind"] == "HEALTH_FACILITY" else "outside",
            "delay": hours(ts(c["birth_time"]), ts(d["issued_at"]))})
    return rows


def death_rows(docs):
    rows = []
    for d in docs:
        day = local_date(d["death_time"])
        dec = d["deceased"]
        born = date(dec["birth_date"]) if dec.get("birth_date") else None
        a = dec.get("age_years", age(born, day) if born else None)
        code = d.get("underlying_cause")
        cat = code[:3] if code else None
        rows.append({
            "event_date": day, "province": d["place"]["province_code"], "unit_date": day,
            "sex": dec["sex"], "age_group": death_group(a), "age": a,
            "neonatal": born is not None and (day - born).days < 28,
            "place": "facility" if d["place"]["kind"] == "HEALTH_FACILITY" else "outside",
            "coded": code is not None, "chapter": chapter(cat) if cat else "none",
            "category": cat or "none",
            "ill_defined": bool(cat) and "R00" <= cat <= "R99",
            "injury": bool(cat) and "S00" <= cat <= "T98",
            "maternal": bool(cat) and "O00" <= cat <= "O99" and dec["sex"] == "FEMALE",
            "delay": hours(ts(d["death_time"]), ts(d["issued_at"]))})
    return rows


def divorce_rows(docs, loaded, received):
    rows = []
    for d in docs:
        eff = date(d["effective_date"])
        m = re.match(r"^TA([0-9]{2})", d["court"]["code"])
        marriage = d.get("marriage") or {}
        child = False
        if "registration_date" in marriage:
            reg = date(marriage["registration_date"])
            for s in ("spouse_a", "spouse_b"):
                sp = d[s]
                limit = 20 if sp["sex"] == "MALE" else 18
                if sp.get("birth_date") and age(date(sp["birth_date"]), reg) < limit:
                    child = True
        midnight = dt.datetime.combine(eff, dt.time(0), tzinfo=dt.timezone.utc) - LOCAL
        rows.append({
            "event_date": eff, "province": m.group(1) if m else None,
            "unit_date": date(d["decision_date"]), "kind": d["kind"],
            "delay": hours(midnight, received[business_key("divorce-judgment", d)]),
            "court_delay": hours(midnight, ts(d["issued_at"])),
            "matched": (marriage.get("registry_office"), marriage.get("registration_number")) in loaded,
            "child": child})
    return rows


def pct(num, den, places):
    if den == 0:
        return ""
    q = Fraction(100 * num, den)
    return round_half_up(q, places)


def round_half_up(q, places):
    scaled = q * 10 ** places
    n = math.floor(scaled + Fraction(1, 2)) if scaled >= 0 else -math.floor(-scaled + Fraction(1, 2))
    sign = "-" if n < 0 else ""
    n = abs(n)
    return "%s%d.%0*d" % (sign, n // 10 ** places, places, n % 10 ** places)


def percentile(values, p):
    if not values:
        return ""
    values = sorted(values)
    return round_half_up(values[max(math.ceil(p * len(values)), 1) - 1], 2)


# name -> (rows key, kind, numerator predicate, denominator predicate)
def definitions(param):
    def days(default):
        return Fraction(param or default) * 24
    return {
        "births": ("birth", "count", lambda r: True, None),
        "births_sex_ratio": ("birth", "ratio", lambda r: r["sex"] == "MALE", lambda r: r["sex"] == "FEMALE"),
        "births_low_weight": ("birth", "share", lambda r: r["weight"] < 2500, lambda r: r["weight"] is not None),
        "births_multiple": ("birth", "share", lambda r: r["plurality"] != "1", lambda r: True),
        "births_facility": ("birth", "share", lambda r: r["place"] == "facility", lambda r: True),
        "births_timely": ("birth", "share", lambda r: r["delay"] <= days(60), lambda r: True),
        "deaths": ("death", "count", lambda r: True, None),
        "deaths_infant": ("death", "count", lambda r: r["age"] == 0, None),
        "deaths_neonatal": ("death", "count", lambda r: r["neonatal"], None),
        "deaths_facility": ("death", "share", lambda r: r["place"] == "facility", lambda r: True),
        "deaths_coded": ("death", "share", lambda r: r["coded"], lambda r: True),
        "deaths_ill_defined": ("death", "share", lambda r: r["ill_defined"], lambda r: r["coded"]),
        "deaths_injury_underlying": ("death", "share", lambda r: r["injury"], lambda r: r["coded"]),
        "deaths_maternal": ("death", "count", lambda r: r["maternal"], None),
        "deaths_timely": ("death", "share", lambda r: r["delay"] <= days(15), lambda r: True),
        "divorces": ("divorce", "count", lambda r: True, None),
        "divorce_sync_median": ("divorce", "median", None, lambda r: True),
        "divorce_sync_p90": ("divorce", "p90", None, lambda r: True),
        "divorce_sync_within": ("divorce", "share", lambda r: r["delay"] <= days(1), lambda r: True),
        "divorce_court_delay_median": ("divorce", "median", "court_delay", lambda r: True),
        "divorce_marriage_matched": ("divorce", "share", lambda r: r["matched"],
                                     lambda r: r["kind"] != "REVIEW_CANCELLATION"),
        "divorce_child_marriage": ("divorce", "count", lambda r: r["child"], None),
        "dead_letters": ("dead_letter", "count", lambda r: True, None),
        "corrections": ("audit", "count", lambda r: r["action"] == "correct", None),
        "duplicates": ("audit", "count", lambda r: r["action"] == "duplicate", None),
        "reconciliation_open": ("reconciliation", "count", lambda r: r["status"] == "open", None),
        "reconciliation_resolved": ("reconciliation", "count", lambda r: r["status"] == "resolved", None),
    }


def dim_key(row, dim, units):
    if dim == "unit":
        return unit(row["province"], row["unit_date"], units)
    if dim == "year":
        return "%04d" % row["event_date"].year
    if dim == "month":
        return row["event_date"].strftime("%Y-%m")
    return row[dim]


def expected(rows, name, frm, to, by, units, param, unit_filter):
    source, kind, num, den = definitions(param)[name]
    groups = {}
    for r in rows[source]:
        if not frm <= r["event_date"] <= to:
            continue
        if unit_filter and unit(r["province"], r["unit_date"], units) != unit_filter:
            continue
        groups.setdefault(tuple(dim_key(r, d, units) or "?" for d in by), []).append(r)
    if not by and not groups:
        groups[()] = []
    out = {}
    for key, members in groups.items():
        if kind == "count":
            n = sum(1 for r in members if num(r))
            out[key] = (str(n), "", str(n))
        elif kind == "share":
            d = [r for r in members if den(r)]
            n = sum(1 for r in d if num(r))
            out[key] = (str(n), str(len(d)), pct(n, len(d), 1))
        elif kind == "ratio":
            n, d = sum(1 for r in members if num(r)), sum(1 for r in members if den(r))
            out[key] = (str(n), str(d), pct(n, d, 1))
        else:
            vals = [r[num or "delay"] for r in members if den(r)]
            out[key] = ("", str(len(vals)), percentile(vals, 0.5 if kind == "median" else 0.9))
    return out


def read_actual(path, by):
    with open(path, encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    head, body = table[0], table[1:]
    names = {}
    out = {}
    for row in body:
        cells = dict(zip(head, row))
        key = tuple(cells[d] for d in by)
        out[key] = (cells["numerator"], cells["denominator"], cells["value"])
        if "unit_name" in cells:
            names[cells["unit"]] = cells["unit_name"]
    return out, names


def reconciliation_rows(folder, today, finals, loaded):
    """Reconciliation items, all detected today. marriage_not_found is counted
    independently: a final divorce or annulment (not a cancellation) naming a
    marriage number that the loaded register does not hold (under the named
    office, or any office when none is named); the items test_indicators.sh
    resolved are in DIR/resolved.txt (source_a per line). Items of every other
    reason come from a direct dump of crvs.reconciliation
    (DIR/reconciliation-other.txt: reason|status|source_a|source_b), their
    source systems looked up here in the generated records."""
    system = {}
    for topic, entity in (("birth-certificate", "birth_certificate"), ("death-notice", "death_notice"),
                          ("divorce-judgment", "divorce_judgment")):
        for doc in finals[topic]:
            system["%s:%s/%s" % ((entity,) + business_key(topic, doc))] = doc["source_system"]
    with open("%s/resolved.txt" % folder, encoding="utf-8") as f:
        resolved = {line.strip() for line in f if line.strip()}
    rows = []
    numbers = {n for _, n in loaded}
    for doc in finals["divorce-judgment"]:
        m = doc.get("marriage") or {}
        num, office = m.get("registration_number"), m.get("registry_office")
        if doc["kind"] == "REVIEW_CANCELLATION" or not num:
            continue
        if (office, num) in loaded or (office is None and num in numbers):
            continue
        src = "divorce_judgment:%s/%s" % business_key("divorce-judgment", doc)
        rows.append({"event_date": today, "reason": "marriage_not_found",
                     "status": "resolved" if src in resolved else "open",
                     "source_system": system[src]})
    with open("%s/reconciliation-other.txt" % folder, encoding="utf-8") as f:
        for line in f:
            reason, status, a, b = line.rstrip("\n").split("|")
            systems = sorted({"marriage-register" if x.startswith("marriage:") else system.get(x, "unknown")
                              for x in (a, b) if x})
            rows.append({"event_date": today, "reason": reason, "status": status,
                         "source_system": "+".join(systems) or "none"})
    return rows


def read_received(folder):
    """When the hub first stored each judgment (crvs.divorce_judgment.received_at,
    read raw from the registry by test_indicators.sh: court|number|UTC time)."""
    out = {}
    with open("%s/divorce-received.txt" % folder, encoding="utf-8") as f:
        for line in f:
            court, number, at = line.rstrip("\n").split("|")
            out[(court, number)] = dt.datetime.fromisoformat(at).replace(tzinfo=dt.timezone.utc)
    return out


def check(folder, today):
    docs = {t: read_jsonl("%s/%s.jsonl" % (folder, t)) for t in TOPICS}
    finals, audit, dead = {}, [], []
    for t in TOPICS:
        finals[t], a, d = final_records(t, docs[t], date(today))
        audit += a
        dead += d
    loaded = set()
    with open("%s/marriages.csv" % folder, encoding="utf-8", newline="") as f:
        for row in list(csv.reader(f))[1:]:
            loaded.add((row[0], row[1]))
    rows = {"birth": birth_rows(finals["birth-certificate"]),
            "death": death_rows(finals["death-notice"]),
            "divorce": divorce_rows(finals["divorce-judgment"], loaded, read_received(folder)),
            "reconciliation": reconciliation_rows(folder, date(today), finals, loaded),
            "audit": audit, "dead_letter": dead}
    failures = compared = 0
    with open("%s/plan.txt" % folder, encoding="utf-8") as f:
        plan = [line.rstrip("\n").split("|") for line in f if line.strip()]
    for i, (name, frm, to, by, units, param, unit_filter) in enumerate(plan, 1):
        by = [b for b in by.split(",") if b]
        frm = date(today if frm == "TODAY" else frm)
        to = date(today if to == "TODAY" else to)
        want = expected(rows, name, frm, to, by, units, param, unit_filter)
        got, names = read_actual("%s/actual.%d.csv" % (folder, i), by)
        what = "%s %s..%s by [%s] units %s%s%s" % (name, frm, to, ",".join(by), units,
                                                     " param " + param if param else "",
                                                     " unit " + unit_filter if unit_filter else "")
        bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        compared += len(want)
        for k in bad[:5]:
            print("MISMATCH %s: group %s expected %s, stats printed %s" % (what, k, want.get(k), got.get(k)))
        for code, n in names.items():
            if code and code != "?" and not n:
                print("MISMATCH %s: unit %s has no name" % (what, code))
                bad.append(code)
            if code in NAMES and NAMES[code] != n:
                print("MISMATCH %s: unit %s is named %s, expected %s" % (what, code, n, NAMES[code]))
                bad.append(code)
        if bad:
            failures += 1
        else:
            print("ok: %s (%d groups)" % (what, len(want)))
    # the hand-made cases are in the data (the test means something)
    retired = {kind: sum(1 for r in rows[kind] if r["province"] is not None
                         and r["unit_date"] >= REFORM and r["province"] not in CURRENT)
               for kind in ("birth", "death", "divorce")}
    for kind, least in (("birth", 3), ("death", 2), ("divorce", 2)):
        if retired[kind] < least:
            print("MISSING: %d %ss with a retired province code since the reform, expected %d"
                  % (retired[kind], kind, least))
            failures += 1
    print("data: retired province codes since the reform: %d births, %d deaths, %d divorces"
          % (retired["birth"], retired["death"], retired["divorce"]))
    b = rows["birth"]
    ha_giang = sum(1 for r in b if r["province"] == "02" and r["unit_date"] < REFORM)
    kien_giang = sum(1 for r in b if r["province"] == "91" and r["unit_date"] < REFORM)
    d = rows["death"]
    print("data: %d births (%d in Hà Giang, %d in Kiên Giang before the reform), %d deaths "
          "(%d injury-coded, %d uncoded, %d maternal), %d divorces (%d child marriages, %d matched, "
          "%d received within a day of legal effect)"
          % (len(b), ha_giang, kien_giang, len(d), sum(r["injury"] for r in d),
             sum(not r["coded"] for r in d), sum(r["maternal"] for r in d), len(rows["divorce"]),
             sum(r["child"] for r in rows["divorce"]), sum(r["matched"] for r in rows["divorce"]),
             sum(0 <= r["delay"] <= 24 for r in rows["divorce"])))
    rec = rows["reconciliation"]
    own = [r for r in rec if r["reason"] == "marriage_not_found"]
    print("reconciliation: %d marriage_not_found counted from the data (%d resolved), %d items of "
          "other reasons from the dump, %d source system groups"
          % (len(own), sum(r["status"] == "resolved" for r in own), len(rec) - len(own),
             len({r["source_system"] for r in rec})))
    if len(own) < 10 or sum(r["status"] == "resolved" for r in own) != 2:
        print("MISMATCH: too few marriage_not_found items, or not two resolved")
        failures += 1
    if ha_giang < 3 or kien_giang < 2 or not any(r["injury"] for r in d) \
            or not any(r["maternal"] for r in d) or not any(r["child"] for r in rows["divorce"]) \
            or not any(0 <= r["delay"] <= 24 for r in rows["divorce"]):
        print("MISMATCH: the hand-made cases are missing from the data")
        failures += 1
    print("%d queries, %d groups compared, %d with differences" % (len(plan), compared, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "prepare":
        prepare(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
