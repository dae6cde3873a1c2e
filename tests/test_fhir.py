"""FHIR R4 vital-signs Observations and Bundles become readings; anything else is rejected with a reason."""

import json

from core.schema.events import InvalidRecord, decode
from core.schema.fhir import from_fhir

VS = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}]


def obs(oid, code, value=None, unit=None, when="2026-11-18T08:00:00Z", patient="Patient/p1", **extra):
    o = {"resourceType": "Observation", "id": oid, "status": "final", "category": VS,
         "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
         "subject": {"reference": patient}, "effectiveDateTime": when, "encounter": {"reference": "Encounter/e1"}}
    if value is not None:
        o["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    o.update(extra)
    return o


def bp(oid, sys_, dia, when="2026-11-18T08:00:00Z"):
    comp = lambda code, v: {"code": {"coding": [{"system": "http://loinc.org", "code": code}]},  # noqa: E731
                            "valueQuantity": {"value": v, "unit": "mmHg", "code": "mm[Hg]"}}
    return obs(oid, "85354-9", when=when, component=[comp("8480-6", sys_), comp("8462-4", dia)])


def bundle(*resources):
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def test_bundle_groups_by_patient_and_time_and_converts_units():
    b = bundle(
        obs("hr", "8867-4", 88, "/min"), obs("rr", "9279-1", 18, "/min"), obs("spo2", "59408-5", 95, "%"),
        obs("temp", "8310-5", 100.4, "[degF]"), bp("bp", 128, 82),
        obs("hr2", "8867-4", 92, "/min", when="2026-11-18T08:15:00Z"),
    )
    result = from_fhir(b, hospital_id="H01", unit="Ward-A", bed="Ward-A-03")
    assert result.rejected == []
    first, second = result.readings
    r = decode(json.dumps(first))
    assert (r.patient_id, r.encounter_id, r.unit, r.bed, r.source) == ("p1", "e1", "Ward-A", "Ward-A-03", "fhir")
    assert (r.heart_rate, r.respiratory_rate, r.spo2, r.systolic_bp, r.diastolic_bp) == (88, 18, 95, 128, 82)
    assert round(r.temperature_c, 2) == 38.0
    assert first["reading_id"] == "fhir-hr+rr+spo2+temp+bp"
    assert decode(json.dumps(second)).heart_rate == 92


def test_single_observation_and_data_absent_reason():
    absent = obs("t", "8310-5", dataAbsentReason={"coding": [{"code": "not-performed"}]})
    result = from_fhir(bundle(obs("hr", "8867-4", 70, "/min"), absent))
    assert result.rejected == [] and len(result.readings) == 1
    assert "temperature_c" not in result.readings[0]
    assert from_fhir(obs("hr", "8867-4", 70, "/min")).readings[0]["heart_rate"] == {"value": 70, "unit": "/min"}


def test_panels_without_values_are_containers():
    panel = obs("vs", "85353-1", hasMember=[{"reference": "Observation/hr"}])
    result = from_fhir(bundle(panel, obs("hr", "8867-4", 70, "/min")))
    assert result.rejected == [] and result.readings[0]["reading_id"] == "fhir-hr"


def test_rejections_with_reasons():
    lab = obs("glu", "2345-7", 5.4, "mmol/L")
    wrong_cat = obs("x", "8867-4", 70, "/min", category=[{"coding": [{"code": "laboratory"}]}])
    err = obs("e", "8867-4", 70, "/min", status="entered-in-error")
    nosubj = obs("n", "8867-4", 70, "/min")
    del nosubj["subject"]
    notime = obs("w", "8867-4", 70, "/min")
    del notime["effectiveDateTime"]
    novalue = obs("v", "8867-4")
    med = {"resourceType": "MedicationRequest", "id": "m1"}
    result = from_fhir(bundle(lab, wrong_cat, err, nosubj, notime, novalue, med))
    assert result.readings == []
    assert result.rejected == [
        ("Observation/glu", "Observation/glu: LOINC 2345-7 is not a vital sign WardWatch reads"),
        ("Observation/x", "Observation/x: category is not vital-signs"),
        ("Observation/e", "Observation/e: status 'entered-in-error' is not one of final, amended, corrected, preliminary"),
        ("Observation/n", "Observation/n: no subject Patient reference"),
        ("Observation/w", "Observation/w: no effectiveDateTime"),
        ("Observation/v", "Observation/v: no valueQuantity or dataAbsentReason"),
        ("MedicationRequest/m1", "MedicationRequest/m1: resourceType 'MedicationRequest' is not Observation"),
    ]
    assert from_fhir({"resourceType": "Patient"}).rejected == [
        ("input", "resourceType 'Patient' is neither Bundle nor Observation")]


SNOMED = "http://snomed.info/sct"


def coded(oid, system, code, *, category="vital-signs", **extra):
    o = obs(oid, "x", **extra)
    o["code"] = {"coding": [{"system": system, "code": code}]}
    o["category"] = [{"coding": [{"system": VS[0]["coding"][0]["system"], "code": category}]}]
    return o


def avpu(oid, answer_system, answer, category="exam"):
    return coded(oid, "http://loinc.org", "67775-7", category=category,
                 valueCodeableConcept={"coding": [{"system": answer_system, "code": answer}]})


def full_set(*extra, spo2_components=()):
    spo2 = obs("spo2", "59408-5", 95, "%", component=list(spo2_components))
    return bundle(obs("hr", "8867-4", 88, "/min"), obs("rr", "9279-1", 18, "/min"), spo2,
                  obs("temp", "8310-5", 37.0, "Cel"), bp("bp", 128, 82), *extra)


def o2_component(code, value, unit):
    return {"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": unit, "code": unit}}


def test_fhir_patient_gets_a_complete_news2_from_acvpu_and_oxygen_codes():
    """Consciousness (LOINC 67775-7, SNOMED answers) and the pulse-oximetry oxygen flow component map, so NEWS2 is complete."""
    from core.enrich import enrich

    b = full_set(avpu("loc", SNOMED, "300202002"), spo2_components=[o2_component("3151-8", 2, "L/min")])
    result = from_fhir(b)
    assert result.rejected == [] and len(result.readings) == 1
    r = decode(json.dumps(result.readings[0]))
    assert (r.consciousness, r.on_oxygen, r.oxygen_flow_l_min) == ("V", True, 2)
    row = enrich(r)
    # HR 88:0, RR 18:0, SpO2 95 scale 1:1, oxygen:2, SBP 128:0, V:3, 37.0:0.
    assert row["news2_total"] == 6 and row["news2_missing"] == []


def test_every_acvpu_answer_code_and_the_air_or_oxygen_findings():
    cases = {(SNOMED, "248234008"): "A", (SNOMED, "1104561000000106"): "C", (SNOMED, "300202002"): "V",
             (SNOMED, "255373000"): "V", (SNOMED, "450847001"): "P", (SNOMED, "422768004"): "U",
             ("http://loinc.org", "LA9340-6"): "A", ("http://loinc.org", "LA9343-0"): "U"}
    for (system, code), letter in cases.items():
        reading = from_fhir(bundle(obs("hr", "8867-4", 70, "/min"), avpu("c", system, code))).readings[0]
        assert reading["consciousness"] == letter, code
    uk = coded("c", SNOMED, "1104441000000107", category="survey", valueString="P")
    assert from_fhir(bundle(obs("hr", "8867-4", 70, "/min"), uk)).readings[0]["consciousness"] == "P"
    air = coded("air", SNOMED, "722742002")
    o2 = coded("o2", SNOMED, "371825009", valueCodeableConcept={"text": "nasal cannula"})
    assert from_fhir(bundle(obs("hr", "8867-4", 70, "/min"), air)).readings[0]["on_oxygen"] is False
    on = from_fhir(bundle(obs("hr", "8867-4", 70, "/min"), o2)).readings[0]
    assert (on["on_oxygen"], on["oxygen_device"]) == (True, "nasal cannula")
    for fio2, expected in ((21, False), (40, True)):
        r = from_fhir(full_set(spo2_components=[o2_component("3150-0", fio2, "%")])).readings[0]
        assert r["on_oxygen"] is expected
    unknown = avpu("c", SNOMED, "999999")
    result = from_fhir(bundle(obs("hr", "8867-4", 70, "/min"), unknown))
    assert result.rejected == [("Observation/c", "Observation/c: level of responsiveness has no ACVPU answer WardWatch knows")]


def test_hospital_unit_bed_and_age_come_from_the_bundle_references():
    org = {"resourceType": "Organization", "id": "o1", "identifier": [{"system": "urn:h", "value": "H07"}]}
    ward = {"resourceType": "Location", "id": "w", "name": "Ward-B", "managingOrganization": {"reference": "Organization/o1"},
            "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]}}
    bed = {"resourceType": "Location", "id": "b", "name": "Ward-B-04", "partOf": {"reference": "Location/w"},
           "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd"}]}}
    enc = {"resourceType": "Encounter", "id": "e1", "location": [
        {"location": {"reference": "Location/w"}, "status": "completed"},
        {"location": {"reference": "Location/b"}, "status": "active"}]}
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2019-11-19"}
    result = from_fhir(bundle(org, ward, bed, enc, patient, obs("hr", "8867-4", 135, "/min")),
                       hospital_id="fallback", unit="fallback", bed="fallback")
    assert result.rejected == []
    reading = result.readings[0]
    assert (reading["hospital_id"], reading["unit"], reading["bed"]) == ("H07", "Ward-B", "Ward-B-04")
    assert reading["age_years"] == 6  # one day before the 7th birthday
    assert "2019" not in json.dumps(reading)  # the birth date itself is never carried
    # Without the resources the caller's location is used.
    alone = from_fhir(obs("hr", "8867-4", 70, "/min"), hospital_id="H01", unit="ICU", bed="ICU-01").readings[0]
    assert (alone["hospital_id"], alone["unit"], alone["bed"]) == ("H01", "ICU", "ICU-01")


MALFORMED = [
    None, [], "Bundle", 5, {"resourceType": "Bundle", "entry": "x"}, {"resourceType": "Bundle", "entry": [5, None, "x"]},
    {"resourceType": "Bundle", "entry": [{"resource": "Observation"}]},
    {"resourceType": "Observation", "status": "final", "category": "vital-signs", "code": "8867-4"},
    {"resourceType": "Observation", "status": "final", "category": [5], "code": {"coding": "x"}},
    {"resourceType": "Observation", "status": "final", "category": VS, "code": {"coding": [5, {"code": 3}]}},
    obs("q", "8867-4", valueQuantity=[70]), obs("q", "8867-4", valueQuantity={"value": [70]}),
    obs("s", "8867-4", 70, "/min", subject="Patient/p1"), obs("t", "8867-4", 70, "/min", effectiveDateTime=[1]),
    obs("t", "8867-4", 70, "/min", effectivePeriod="x", effectiveDateTime=None),
    obs("c", "85354-9", component="x"), obs("c", "85354-9", component=[5, {"code": "x"}]),
    obs("i", "8867-4", 70, "/min", id=["x"]), obs("e", "8867-4", 70, "/min", encounter={"reference": 5}),
    bundle({"resourceType": "Location", "id": "l", "partOf": {"reference": "Location/l"},
            "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd"}]}},
           {"resourceType": "Encounter", "id": "e1", "location": [{"location": {"reference": "Location/l"}}]},
           {"resourceType": "Patient", "id": "p1", "birthDate": "not-a-date"}, obs("hr", "8867-4", 70, "/min")),
    bundle({"resourceType": "Encounter", "id": "e1", "location": "x", "serviceProvider": 5},
           {"resourceType": "Patient", "id": "p1", "birthDate": 1990}, obs("hr", "8867-4", 70, "/min")),
    bundle(avpu("c", SNOMED, None), coded("o", SNOMED, "371825009", valueCodeableConcept="x"),
           obs("f", "3150-0", 300, "%"), obs("f2", "3150-0", True, "%")),
]


def test_malformed_fhir_never_raises_and_every_rejection_has_a_reason():
    """Each of these raised AttributeError/TypeError in from_fhir (the producer's --replay then died with a traceback)."""
    for resource in MALFORMED:
        result = from_fhir(resource)
        assert all(isinstance(reason, str) and reason for _, reason in result.rejected), resource
        for reading in result.readings:
            try:  # a reading is either valid or refused with its reason, never a crash
                decode(json.dumps(reading))
            except InvalidRecord as exc:
                assert exc.reason
            assert reading["reading_id"].startswith("fhir-")


def test_replay_reports_a_malformed_fhir_file_instead_of_crashing(tmp_path):
    from producer.replay import replay

    bad_json = tmp_path / "broken.json"
    bad_json.write_bytes(b'{"resourceType": "Bundle", "entry": [')
    not_utf8 = tmp_path / "latin1.json"
    not_utf8.write_bytes(b'{"resourceType": "Bundle", "entry": [], "note": "\xe9"}')
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": 5}, {"resource": obs("hr", "8867-4", 70, "/min")}]}))
    for path in (bad_json, not_utf8):
        records, rejected = replay(path)
        assert records == [] and len(rejected) == 1 and "not a FHIR JSON document" in rejected[0]
    records, rejected = replay(wrong)
    assert len(records) == 1 and rejected == ["entry[0]: resourceType None is not Observation"]
    short = tmp_path / "short.csv"
    short.write_text("schema_version,type,reading_id,patient_id,heart_rate\n1,vitals,r1\n")
    records, rejected = replay(short)  # a short row: its missing cells are absent, the reading refused with a reason
    assert records == [] and rejected and "missing field" in rejected[0]
