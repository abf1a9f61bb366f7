#!/usr/bin/env python3
"""Mixed events about one pool of persons, for the order-independence test.

    linkage_events.py --seed S [--pairs N] [--today YYYY-MM-DD] > events.jsonl
    linkage_events.py --seed S --shuffle events.jsonl > shuffled.jsonl
    linkage_events.py --date-order events.jsonl > by-date.jsonl

The first form writes births, death notices and divorce judgments (with exact
re-sends, corrections and cancellations on review) and marriage register
lines, all about N married couples, one JSON object a line:

    {"name": ..., "topic": ..., "key": ..., "doc": {...}}   a Kafka record
    {"name": ..., "marriage": "office,number,date,id_a,id_b"} a register line

The mix is made to meet every rule of docs/linkage.md from several sides:
mothers and fathers named on several births (some with a date of birth that
disagrees), deaths of registry persons and of persons never seen, two notices
for one death, corrected dates of death, divorces naming registered and
unregistered marriages or none, divorces after a spouse's death, judgments
cancelled on review and cancellations of judgments never received, spouses
without an ID or with an ID whose sex digit contradicts the record.

The second form prints the same records in a shuffled order (seeded), the
third in the order of the events' dates (birth, death, legal effect,
marriage registration). In both, the versions of one key (an original, its
re-sends, its corrections) keep their order: Kafka keeps them in order in
one partition, and the registry row of a key is the last version received.
"""

import argparse
import datetime as dt
import json
import random
import sys

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
          "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quốc"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Mỹ"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc",
           "Quân", "Sơn", "Thắng", "Tuấn", "Việt"]
GIVEN_F = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh",
           "Mai", "Ngân", "Phương", "Thảo", "Trang", "Yến"]
# (province code, hospital code, hospital name, court code) - legacy codes of
# provinces that exist before and after 2025, so that no date makes them retired.
PLACES = [("01", "BV01001", "Bệnh viện Phụ sản Hà Nội", "TA01"),
          ("38", "BV38002", "Bệnh viện Đa khoa tỉnh Thanh Hóa", "TA38"),
          ("40", "BV40003", "Bệnh viện Sản Nhi Nghệ An", "TA40"),
          ("22", "BV22004", "Bệnh viện Sản Nhi Quảng Ninh", "TA22")]
CAUSES = [("I21.9", "Nhồi máu cơ tim cấp"), ("I64", "Đột quỵ"), ("C34.9", "Ung thư phổi"),
          ("J44.9", "Bệnh phổi tắc nghẽn mạn tính"), ("E11.9", "Đái tháo đường týp 2"),
          ("C22.0", "Ung thư gan"), ("N18.5", "Bệnh thận mạn giai đoạn 5"), ("A41.9", "Nhiễm khuẩn huyết")]


def iso(d):
    return d.isoformat()


def stamp(d, hour):
    return f"{d.isoformat()}T{hour:02d}:00:00.000Z"


def between(r, lo, hi):
    """A date in [lo, hi], or None when the range is empty."""
    if hi < lo:
        return None
    return lo + dt.timedelta(days=r.randint(0, (hi - lo).days))


def years_after(d, years):
    try:
        return d.replace(year=d.year + years)
    except ValueError:          # 29 February
        return d.replace(year=d.year + years, day=28)


class Person:
    def __init__(self, r, serial, sex, born):
        self.sex, self.born = sex, born
        self.place = r.choice(PLACES)
        century = (born.year // 100 - 19) * 2 + (1 if sex == "FEMALE" else 0)
        self.pid = f"0{self.place[0]}{century}{born.year % 100:02d}{serial:06d}"
        middle = MIDDLE_F if sex == "FEMALE" else MIDDLE_M
        given = GIVEN_F if sex == "FEMALE" else GIVEN_M
        self.name = f"{r.choice(FAMILY)} {r.choice(middle)} {r.choice(given)}"

    def party(self, birth_date=None):
        return {"personal_id": self.pid, "name": self.name,
                "birth_date": iso(birth_date or self.born), "sex": self.sex}


class Events:
    def __init__(self):
        self.lines = []
        self.counts = {}

    def record(self, topic, key, doc, what):
        n = len(self.lines)
        self.lines.append({"name": f"{what}{n}", "topic": topic, "key": key, "doc": doc})
        self.counts[what] = self.counts.get(what, 0) + 1
        return self.lines[-1]

    def again(self, line, what, change=None):
        """A re-send (change None) or a correction of line's record."""
        doc = json.loads(json.dumps(line["doc"]))
        if change:
            change(doc)
        doc["event_id"] = f"{doc['event_id']}-{what}{len(self.lines)}"
        return self.record(line["topic"], line["key"], doc, what)


def generate(seed, pairs, today):
    r = random.Random(seed)
    last_day = today - dt.timedelta(days=30)
    ev = Events()
    serial = iter(range(1000 + seed % 1000 * 1000, 10**6))

    couples = []
    for i in range(pairs):
        man = Person(r, next(serial), "MALE", between(r, dt.date(1950, 1, 1), dt.date(1994, 12, 31)))
        woman = Person(r, next(serial), "FEMALE", between(r, dt.date(1956, 1, 1), dt.date(1998, 12, 31)))
        married = between(r, max(years_after(man.born, 21), years_after(woman.born, 19)),
                          years_after(max(man.born, woman.born), 30))
        office = f"UBND xã {r.choice(GIVEN_M)} {i}"
        couples.append({"man": man, "woman": woman, "married": married, "office": office,
                        "number": f"{i + 1}/{married.year}", "registered": i % 3 != 2})
    for c in couples:
        if c["registered"]:
            ev.lines.append({"name": f"m{len(ev.lines)}", "marriage": ",".join(
                [c["office"], c["number"], iso(c["married"]), c["man"].pid, c["woman"].pid])})

    # Births: each couple has up to four children; the father is named on most.
    births = []
    for i, c in enumerate(couples):
        mother, father = c["woman"], c["man"]
        for k in range(r.randint(1, 4)):
            born = between(r, max(c["married"], years_after(mother.born, 18), dt.date(2016, 1, 1)),
                           min(years_after(mother.born, 44), last_day))
            if born is None:
                continue
            place = mother.place
            mother_dob = mother.born
            if r.random() < 0.05:        # a source that disagrees on the mother's date of birth
                mother_dob = mother.born.replace(day=1 if mother.born.day != 1 else 2)
            doc = {
                "event_id": f"lk-b-{seed}-{i}-{k}", "source_system": f"his-{place[0]}",
                "certificate_number": f"GCS-{seed}-{i}-{k}",
                "facility": {"code": place[1], "name": place[2]},
                "issued_at": stamp(born, 9),
                "child": {"name": None, "sex": r.choice(["MALE", "FEMALE"]), "birth_time": stamp(born, 3),
                          "place": {"kind": "HEALTH_FACILITY", "facility_code": place[1],
                                    "province_code": place[0], "commune_code": None, "address": None},
                          "weight_grams": r.randint(2600, 4100), "gestation_weeks": r.randint(37, 41),
                          "plurality": 1, "birth_order": 1},
                "mother": {"name": mother.name, "birth_date": iso(mother_dob), "personal_id": mother.pid,
                           "ethnicity": "01", "nationality": "VN",
                           "residence": {"province_code": place[0], "commune_code": None, "address": None}},
                "father": None if r.random() < 0.2 else {
                    "name": father.name, "birth_date": iso(father.born), "personal_id": father.pid,
                    "ethnicity": None, "nationality": "VN", "residence": None},
            }
            births.append(ev.record("birth-certificate", f"{place[1]}/{doc['certificate_number']}", doc, "b"))
            c["last_birth"] = born

    def correct_birth(doc):
        doc["child"]["weight_grams"] += 100
        doc["mother"]["birth_date"] = next(c["woman"].born for c in couples
                                           if c["woman"].pid == doc["mother"]["personal_id"]).isoformat()

    # Deaths: a third of the pool dies, after their last child; some twice
    # notified, some corrected; a few persons the registry never saw.
    notice = iter(range(1, 10**6))

    def death(person, day, place):
        n = next(notice)
        code, text = r.choice(CAUSES)
        doc = {
            "event_id": f"lk-d-{seed}-{n}", "source_system": f"his-{place[0]}",
            "notice_number": f"TB-{seed}-{n}", "facility": {"code": place[1], "name": place[2]},
            "issued_at": stamp(day, 8),
            "deceased": {"personal_id": person.pid, "name": person.name, "sex": person.sex,
                         "birth_date": iso(person.born), "age_years": None, "ethnicity": None,
                         "nationality": "VN",
                         "residence": {"province_code": place[0], "commune_code": None, "address": None}},
            "death_time": stamp(day, 1),
            "place": {"kind": "HEALTH_FACILITY", "facility_code": place[1], "province_code": place[0],
                      "commune_code": None, "address": None},
            "part1": [{"text": text, "icd10": code, "interval": f"{r.randint(1, 30)} ngày"}], "part2": [],
            "underlying_cause": code, "manner": "DISEASE",
            "injury": None, "surgery_within_4_weeks": None, "autopsy": None,
            "pregnancy": "NOT_PREGNANT" if person.sex == "FEMALE" else "NOT_APPLICABLE", "perinatal": None,
            "certifier": {"name": "BS. Lê Minh", "title": None, "license_number": None},
        }
        return ev.record("death-notice", f"{place[1]}/{doc['notice_number']}", doc, "d")

    for c in couples:
        for who in ("man", "woman"):
            if r.random() >= 1 / 3:
                continue
            p = c[who]
            day = between(r, max(c.get("last_birth", c["married"]), dt.date(2019, 1, 1)) + dt.timedelta(days=1),
                          last_day - dt.timedelta(days=5))
            if day is None:
                continue
            line = death(p, day, p.place)
            if r.random() < 0.15:           # a second notice from another hospital
                death(p, day + dt.timedelta(days=r.randint(0, 2)), r.choice(PLACES))
            if r.random() < 0.2:            # the date of death corrected
                fixed = day - dt.timedelta(days=r.randint(1, 3))
                ev.again(line, "cd", lambda d, f=fixed: (d.update(death_time=stamp(f, 1))))
    for k in range(8):                      # persons the registry never saw
        sex = r.choice(["MALE", "FEMALE"])
        p = Person(r, next(serial), sex, between(r, dt.date(1930, 1, 1), dt.date(1960, 12, 31)))
        death(p, between(r, dt.date(2020, 1, 1), last_day), p.place)

    # Divorces: half the couples; some after a spouse's death; some cancelled
    # on review; cancellations of judgments never received.
    judgments = []
    number = iter(range(1, 10**6))

    def judgment(c, kind, effective, a, b, marriage, cancels=None):
        place = c["man"].place
        n = next(number)
        doc = {
            "event_id": f"lk-j-{seed}-{n}", "source_system": f"court-{place[3]}",
            "court": {"code": place[3], "name": f"Tòa án nhân dân {place[3]}"},
            "judgment_number": f"{n}/{effective.year}/HNGĐ-ST", "kind": kind,
            "decision_date": iso(effective - dt.timedelta(days=10)), "effective_date": iso(effective),
            "issued_at": stamp(effective, 2), "spouse_a": a, "spouse_b": b,
            "marriage": marriage, "cancels": cancels,
        }
        return ev.record("divorce-judgment", f"{place[3]}/{doc['judgment_number']}", doc, "j")

    for i, c in enumerate(couples):
        if r.random() >= 0.5:
            continue
        effective = between(r, c["married"] + dt.timedelta(days=365), last_day - dt.timedelta(days=40))
        if effective is None:
            continue
        kind = r.choice(["DIVORCE_JUDGMENT", "CONSENSUAL_DIVORCE", "DIVORCE_JUDGMENT", "MARRIAGE_ANNULMENT"])
        a, b = c["man"].party(), c["woman"].party()
        roll = r.random()
        if roll < 0.04:
            b["personal_id"] = None                             # spouse_unidentified
        elif roll < 0.08:
            a["sex"] = "FEMALE"                                 # spouse_sex_mismatch
        marriage = None
        if r.random() < 0.6:                                    # unregistered: marriage_not_found
            marriage = {"registration_number": c["number"], "registration_date": iso(c["married"]),
                        "registry_office": c["office"]}
        line = judgment(c, kind, effective, a, b, marriage)
        judgments.append(line)
        if r.random() < 0.1:                                    # effective date corrected
            later = effective + dt.timedelta(days=r.randint(1, 20))
            ev.again(line, "cj", lambda d, f=later: d.update(effective_date=iso(f), issued_at=stamp(f, 2)))
        if r.random() < 0.2:                                    # cancelled on review
            doc = line["doc"]
            judgment(c, "REVIEW_CANCELLATION", effective + dt.timedelta(days=r.randint(21, 30)),
                     doc["spouse_a"], doc["spouse_b"], None,
                     {"court_code": doc["court"]["code"], "judgment_number": doc["judgment_number"]})
    for k in range(3):                                          # cancelled_judgment_not_found
        c = r.choice(couples)
        judgment(c, "REVIEW_CANCELLATION", between(r, dt.date(2024, 1, 1), last_day), c["man"].party(),
                 c["woman"].party(), None, {"court_code": "TA99", "judgment_number": f"{900 + k}/2020/HNGĐ-ST"})

    # Re-sends of records already sent, and corrections of births.
    sent = [l for l in ev.lines if "topic" in l]
    for line in r.sample(sent, 12):
        ev.again(line, "re")
    for line in r.sample(births, 10):
        ev.again(line, "cb", correct_birth)
    return ev


def event_date(line):
    """When the event happened: a birth or death, a judgment's legal effect,
    a marriage's registration."""
    if "marriage" in line:
        return line["marriage"].split(",")[2]
    doc = line["doc"]
    if line["topic"] == "birth-certificate":
        return doc["child"]["birth_time"][:10]
    if line["topic"] == "death-notice":
        return doc["death_time"][:10]
    return doc["effective_date"]


def reorder(lines, order):
    """lines in the given order of indexes, except that the versions of each
    key (an original, its re-sends and corrections) keep their own order, on
    the slots the order gave that key."""
    versions, slots = {}, {}
    for i, line in enumerate(lines):
        versions.setdefault(line.get("key", line["name"]), []).append(i)
    for pos, i in enumerate(order):
        slots.setdefault(lines[i].get("key", lines[i]["name"]), []).append(pos)
    out = [None] * len(lines)
    for key, idx in versions.items():
        for pos, i in zip(sorted(slots[key]), idx):
            out[pos] = lines[i]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shuffle", metavar="FILE", help="print FILE's records in a shuffled order")
    ap.add_argument("--date-order", metavar="FILE", help="print FILE's records in the order of their event dates")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=160)
    ap.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = ap.parse_args()
    if args.shuffle or args.date_order:
        with open(args.shuffle or args.date_order, encoding="utf-8") as f:
            lines = [json.loads(l) for l in f if l.strip()]
        order = list(range(len(lines)))
        if args.shuffle:
            random.Random(args.seed).shuffle(order)
        else:
            order.sort(key=lambda i: event_date(lines[i]))
        out = reorder(lines, order)
    else:
        ev = generate(args.seed, args.pairs, args.today)
        out = ev.lines
        print("generated " + ", ".join(f"{k}={v}" for k, v in sorted(ev.counts.items())), file=sys.stderr)
    for line in out:
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
