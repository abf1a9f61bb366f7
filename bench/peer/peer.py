#!/usr/bin/python3
"""The benchmark's peer: a plain at-least-once consumer, written the way an
integrator would write one in an afternoon (docs/performance.md, "What is
measured"). A yardstick for the hub, not a product: no validation beyond
what decoding needs, no linkage, no dead letters, offsets in Kafka.

    bench/peer/peer.py --bootstrap HOST:PORT --topic T --count N --group G --schemas DIR

Reads T from the beginning (a new group), decodes each message (Confluent
framing, Avro with the writer's schema from DIR/catalog.tsv), and per batch
of up to 500 upserts the registry rows into peer.<entity> and one audit row
per message into peer.audit_log (tables the caller made, LIKE the hub's),
commits the transaction, then commits the offsets to Kafka. Stops once it
has written N messages or reached the end the topic had at the start,
whichever comes first, and prints one JSON line: records, seconds and its
CPU seconds (from the assignment of its partitions to the last offset
commit), records/s, the topic's first and end offsets. PostgreSQL from the PG* variables (libpq).

Debian's python3-confluent-kafka, python3-psycopg2 and python3-avro, hence
/usr/bin/python3.
"""
import argparse
import datetime
import hashlib
import io
import json
import struct
import sys
import time
import unicodedata
import zoneinfo

import avro.io
import avro.schema
import psycopg2
import psycopg2.extras
from confluent_kafka import Consumer, TopicPartition

BATCH = 500
LOCAL = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def name_key(name):
    """Lower case, without diacritics (đ as d): for matching names."""
    if name is None:
        return None
    s = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).lower().split())


def local_date(t):
    return t.astimezone(LOCAL).date()


def years(born, on):
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def birth_row(d):
    c, place, m, f = d["child"], d["child"]["place"], d["mother"], d.get("father") or {}
    res = m.get("residence") or {}
    born = local_date(c["birth_time"])
    return {
        "facility_code": d["facility"]["code"], "certificate_number": d["certificate_number"],
        "facility_name": d["facility"]["name"], "issued_at": d["issued_at"],
        "event_id": d["event_id"], "source_system": d["source_system"],
        "child_name": c.get("name"), "child_name_key": name_key(c.get("name")),
        "child_sex": c["sex"], "birth_time": c["birth_time"], "birth_date": born,
        "place_kind": place["kind"], "place_facility_code": place.get("facility_code"),
        "place_province_code": place["province_code"], "place_commune_code": place.get("commune_code"),
        "weight_grams": c.get("weight_grams"), "gestation_weeks": c.get("gestation_weeks"),
        "plurality": c["plurality"], "birth_order": c["birth_order"],
        "mother_name": m["name"], "mother_name_key": name_key(m["name"]),
        "mother_birth_date": m.get("birth_date"), "mother_personal_id": m.get("personal_id"),
        "mother_age_at_birth": years(m.get("birth_date"), born),
        "mother_ethnicity": m.get("ethnic_group", m.get("ethnicity")),
        "mother_nationality": m.get("nationality"),
        "mother_province_code": res.get("province_code"), "mother_commune_code": res.get("commune_code"),
        "father_name": f.get("name"), "father_name_key": name_key(f.get("name")),
        "father_birth_date": f.get("birth_date"), "father_personal_id": f.get("personal_id"),
        "father_nationality": f.get("nationality"),
    }


def death_row(d):
    p, place, res = d["deceased"], d["place"], d["deceased"].get("residence") or {}
    died = local_date(d["death_time"])
    cause = d.get("underlying_cause")
    return {
        "facility_code": d["facility"]["code"], "notice_number": d["notice_number"],
        "facility_name": d["facility"]["name"], "issued_at": d["issued_at"],
        "event_id": d["event_id"], "source_system": d["source_system"],
        "deceased_personal_id": p.get("personal_id"), "deceased_name": p.get("name"),
        "deceased_name_key": name_key(p.get("name")), "deceased_sex": p["sex"],
        "deceased_birth_date": p.get("birth_date"),
        "age_years": p.get("age_years") if p.get("birth_date") is None else years(p["birth_date"], died),
        "death_time": d["death_time"], "death_date": died,
        "place_kind": place["kind"], "place_facility_code": place.get("facility_code"),
        "place_province_code": place["province_code"], "place_commune_code": place.get("commune_code"),
        "residence_province_code": res.get("province_code"),
        "residence_commune_code": res.get("commune_code"),
        "underlying_cause": cause, "underlying_category": cause[:3] if cause else None,
        "manner": d["manner"], "pregnancy": d["pregnancy"],
    }


def divorce_row(d):
    row = {
        "court_code": d["court"]["code"], "judgment_number": d["judgment_number"],
        "court_name": d["court"].get("full_name", d["court"].get("name")), "kind": d["kind"],
        "decision_date": d["decision_date"], "effective_date": d["effective_date"],
        "issued_at": d["issued_at"], "event_id": d["event_id"], "source_system": d["source_system"],
    }
    for who in ("spouse_a", "spouse_b"):
        s = d[who]
        row.update({f"{who}_personal_id": s.get("personal_id"), f"{who}_name": s["name"],
                    f"{who}_name_key": name_key(s["name"]), f"{who}_birth_date": s.get("birth_date"),
                    f"{who}_sex": s["sex"]})
    m, c = d.get("marriage") or {}, d.get("cancels") or {}
    row.update({"marriage_registration_number": m.get("registration_number"),
                "marriage_registration_date": m.get("registration_date"),
                "marriage_registry_office": m.get("registry_office"),
                "cancels_court_code": c.get("court_code"),
                "cancels_judgment_number": c.get("judgment_number")})
    return row


# topic: (entity, business key, the typed columns of a decoded document)
TOPICS = {
    "birth-certificate": ("birth_certificate", ("facility_code", "certificate_number"), birth_row),
    "death-notice": ("death_notice", ("facility_code", "notice_number"), death_row),
    "divorce-judgment": ("divorce_judgment", ("court_code", "judgment_number"), divorce_row),
}


def load_readers(schemas):
    readers = {}
    with open(f"{schemas}/catalog.tsv", encoding="utf-8") as cat:
        for line in cat:
            if line.strip() and not line.startswith("#"):
                schema_id, _topic, _version, path = line.split("\t")
                with open(f"{schemas}/{path.strip()}", encoding="utf-8") as f:
                    readers[int(schema_id)] = avro.io.DatumReader(avro.schema.parse(f.read()))
    return readers


def as_json(v):
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    raise TypeError(f"{type(v).__name__} is not JSON")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True, choices=TOPICS)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--schemas", required=True)
    args = ap.parse_args()
    entity, key, to_row = TOPICS[args.topic]
    readers = load_readers(args.schemas)

    db = psycopg2.connect("")
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap, "group.id": args.group,
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
        # as the hub's services in the benchmark (tests/integration/hub.sh)
        "fetch.wait.max.ms": 10, "session.timeout.ms": 6000,
    })
    meta = consumer.list_topics(args.topic, timeout=30).topics[args.topic]
    marks = [consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=30)
             for p in meta.partitions]
    first, end = sum(lo for lo, _ in marks), sum(hi for _, hi in marks)
    target = min(args.count, end - first)
    start = {}  # the clock starts once the partitions are assigned (the group joined)
    consumer.subscribe([args.topic], on_assign=lambda c, parts: start.setdefault(
        "at", (time.monotonic(), time.process_time())))

    done, idle_since = 0, time.monotonic()
    while done < target:
        msgs = consumer.consume(min(BATCH, target - done), timeout=1.0)
        for m in msgs:
            if m.error():
                print(f"peer.py: {m.error()}", file=sys.stderr)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            if time.monotonic() - idle_since > 60:
                sys.exit(f"peer.py: no message for 60 s, {done} of {target} written")
            continue
        idle_since = time.monotonic()
        rows, audit = {}, []
        for m in msgs:
            value = m.value()
            magic, schema_id = struct.unpack(">bI", value[:5])
            if magic != 0:
                raise ValueError(f"offset {m.offset()}: not Confluent framing")
            doc = readers[schema_id].read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))
            text = json.dumps(doc, default=as_json, ensure_ascii=False, separators=(",", ":"))
            row = to_row(doc)
            row.update(document=text, content_hash=hashlib.md5(text.encode()).hexdigest(),
                       source_partition=m.partition(), source_offset=m.offset(), schema_id=schema_id)
            rows[tuple(row[k] for k in key)] = row  # the last of a key in the batch wins
            audit.append(("peer", "upsert", entity, m.key().decode(), m.topic(), m.partition(),
                          m.offset(), schema_id, doc["source_system"], doc["event_id"]))
        cols = list(next(iter(rows.values())))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in key)
        with db, db.cursor() as cur:
            psycopg2.extras.execute_values(
                cur,
                f"INSERT INTO peer.{entity} AS t ({', '.join(cols)}) VALUES %s "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}, "
                "version = t.version + 1, updated_at = now() "
                "WHERE t.content_hash <> EXCLUDED.content_hash",
                [tuple(r[c] for c in cols) for r in rows.values()], page_size=BATCH)
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO peer.audit_log (service, action, entity, entity_key, source_topic, "
                "source_partition, source_offset, schema_id, source_system, event_id) VALUES %s",
                audit, page_size=BATCH)
        consumer.commit(asynchronous=False)  # after the database's COMMIT: at least once
        done += len(msgs)
    t0, cpu0 = start.get("at", (time.monotonic(), time.process_time()))
    seconds, cpu = time.monotonic() - t0, time.process_time() - cpu0
    consumer.close()
    db.close()
    print(json.dumps({"records": done, "seconds": round(seconds, 3),
                      "records_per_s": round(done / seconds, 1) if seconds else None,
                      "cpu_seconds": round(cpu, 3),
                      "topic_first_offset": first, "topic_end_offset": end}))


if __name__ == "__main__":
    main()
