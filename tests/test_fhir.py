"""FHIR R4 vital-signs Observations and Bundles become readings; anything else is rejected with a reason."""

import json

from flink_app.schema.events import decode
from flink_app.schema.fhir import from_fhir

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
    patient = {"resourceType": "Patient", "id": "p1"}
    result = from_fhir(bundle(lab, wrong_cat, err, nosubj, notime, novalue, patient))
    assert result.readings == []
    assert result.rejected == [
        ("Observation/glu", "Observation/glu: LOINC 2345-7 is not a vital sign WardWatch reads"),
        ("Observation/x", "Observation/x: category is not vital-signs"),
        ("Observation/e", "Observation/e: status 'entered-in-error' is not one of final, amended, corrected, preliminary"),
        ("Observation/n", "Observation/n: no subject Patient reference"),
        ("Observation/w", "Observation/w: no effectiveDateTime"),
        ("Observation/v", "Observation/v: no valueQuantity or dataAbsentReason"),
        ("Observation/p1", "Observation/p1: resourceType 'Patient' is not Observation"),
    ]
    assert from_fhir({"resourceType": "Patient"}).rejected == [
        ("input", "resourceType 'Patient' is neither Bundle nor Observation")]
