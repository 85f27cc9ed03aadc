"""Catalog format: loading from a dict, JSON or TOML, defaults, zone chain, and every problem
reported with its field path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import HOUR_SERVICE, SITE, make_catalog, site_dict
from optimo_booking import BookingError, load_catalog
from optimo_booking.errors import CatalogError

STAFF0 = "sites[0].staff[0]"
SERVICE0 = "sites[0].services[0]"


def problems_of(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(CatalogError) as info:
        load_catalog(raw)
    return info.value.problems


def site_problems(**site: Any) -> list[tuple[str, str]]:
    return problems_of({"sites": [site_dict(**site)]})


def only_problem(**site: Any) -> tuple[str, str]:
    """The single `(path, message)` a site with one mistake reports."""
    found = site_problems(**site)
    assert len(found) == 1, found
    return found[0]


def staff_with(**fields: Any) -> list[dict[str, Any]]:
    return [{"id": "alice", **fields}]


def service_with(**fields: Any) -> list[dict[str, Any]]:
    return [{"id": "svc", "durationMinutes": 30, **fields}]


def loaded_service(**fields: Any) -> Any:
    return make_catalog(services=service_with(**fields)).site(SITE).services["svc"]


# -- loading -----------------------------------------------------------------------------

FULL_SITE: dict[str, Any] = {
    "id": "demo",
    "timezone": "Europe/Berlin",
    "branches": [{"id": "mitte", "timezone": "Europe/Berlin"}],
    "services": [{"id": "cut", "name": "Cut", "durationMinutes": 30, "slotStepMinutes": 15}],
    "staff": [
        {
            "id": "alice",
            "branchId": "mitte",
            "weeklyHours": {"mon": ["09:00-12:00", "13:00-18:00"], "sat": []},
            "breaks": {"mon": ["10:30-10:45"]},
            "recurring": [
                {
                    "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
                    "dtstart": "2026-01-03",
                    "hours": ["10:00-14:00"],
                }
            ],
            "dateOverrides": {"2026-12-24": ["09:00-13:00"], "2026-12-25": []},
            "timeOff": [{"start": "2026-08-01T00:00:00+02:00", "end": "2026-08-15T00:00:00+02:00"}],
        }
    ],
}

FULL_TOML = """
[[sites]]
id = "demo"
timezone = "Europe/Berlin"

[[sites.branches]]
id = "mitte"
timezone = "Europe/Berlin"

[[sites.services]]
id = "cut"
name = "Cut"
durationMinutes = 30
slotStepMinutes = 15

[[sites.staff]]
id = "alice"
branchId = "mitte"
weeklyHours = { mon = ["09:00-12:00", "13:00-18:00"], sat = [] }
breaks = { mon = ["10:30-10:45"] }
dateOverrides = { "2026-12-24" = ["09:00-13:00"], "2026-12-25" = [] }
timeOff = [{ start = "2026-08-01T00:00:00+02:00", end = "2026-08-15T00:00:00+02:00" }]

[[sites.staff.recurring]]
rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"
dtstart = "2026-01-03"
hours = ["10:00-14:00"]
"""


def test_dict_json_path_and_json_string_path_load_the_same_catalog(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"sites": [FULL_SITE]}), "utf-8")
    from_dict = load_catalog({"sites": [FULL_SITE]})
    assert load_catalog(path) == from_dict
    assert load_catalog(str(path)) == from_dict


def test_toml_file_has_the_same_keys_as_json(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(FULL_TOML, "utf-8")
    assert load_catalog(path) == load_catalog({"sites": [FULL_SITE]})


def test_toml_native_dates_and_offset_datetimes_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    text = FULL_TOML.replace('dtstart = "2026-01-03"', "dtstart = 2026-01-03")
    text = text.replace('"2026-08-01T00:00:00+02:00"', "2026-08-01T00:00:00+02:00")
    path.write_text(text, "utf-8")
    assert load_catalog(path) == load_catalog({"sites": [FULL_SITE]})


def test_toml_time_off_as_local_datetime_without_offset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(FULL_TOML.replace('"2026-08-01T00:00:00+02:00"', "2026-08-01T00:00:00"))
    assert [p for p, _ in problems_of(path)] == ["sites[0].staff[0].timeOff[0].start"]


@pytest.mark.parametrize(
    "text",
    ['{"sites": [], "sites": []}', '{"sites": [{"id": "s", "timezone": NaN}]}', "[Infinity]"],
    ids=["duplicate-key", "NaN", "Infinity"],
)
def test_json_file_is_strict(tmp_path: Path, text: str) -> None:
    path = tmp_path / "site.json"
    path.write_text(text, "utf-8")
    assert len(problems_of(path)) == 1


def test_json_file_with_duplicate_keys_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text('{"sites": [{"id": "a", "id": "b", "timezone": "UTC"}]}', "utf-8")
    assert "duplicate key 'id'" in problems_of(path)[0][1]


def test_unreadable_file_is_a_catalog_error(tmp_path: Path) -> None:
    assert len(problems_of(tmp_path / "missing.json")) == 1


def test_catalog_error_is_a_validation_error_with_every_problem_in_details() -> None:
    with pytest.raises(BookingError) as info:
        load_catalog({"sites": [site_dict(timezone="Mars/Base")]})
    assert info.value.code == "validation_error"
    assert info.value.details["problems"][0]["path"] == "sites[0].timezone"


# -- defaults ----------------------------------------------------------------------------


def test_slot_step_defaults_to_duration() -> None:
    assert loaded_service().slot_step_minutes == 30


def test_buffers_default_to_zero() -> None:
    service = loaded_service()
    assert (service.buffer_before_minutes, service.buffer_after_minutes) == (0, 0)


def test_capacity_defaults_to_one() -> None:
    assert loaded_service().capacity == 1


def test_min_notice_defaults_to_zero() -> None:
    assert loaded_service().min_notice_minutes == 0


def test_max_advance_days_defaults_to_no_limit() -> None:
    assert loaded_service().max_advance_days is None


def test_requires_confirmation_defaults_to_false() -> None:
    assert loaded_service().requires_confirmation is False


def test_empty_staff_ids_means_every_staff_member_in_catalog_order() -> None:
    staff = [{"id": "zoe"}, {"id": "adam"}, {"id": "mia"}]
    site = make_catalog(staff=staff, services=service_with(staffIds=[])).site(SITE)
    assert [s.id for s in site.staff_for(site.services["svc"])] == ["zoe", "adam", "mia"]


def test_listed_staff_ids_are_the_only_staff_in_their_order() -> None:
    staff = [{"id": "zoe"}, {"id": "adam"}, {"id": "mia"}]
    site = make_catalog(staff=staff, services=service_with(staffIds=["mia", "zoe"])).site(SITE)
    assert [s.id for s in site.staff_for(site.services["svc"])] == ["mia", "zoe"]


def test_empty_branch_ids_are_kept_empty_meaning_every_branch() -> None:
    assert loaded_service(branchIds=[]).branch_ids == ()


def test_explicit_service_values_are_kept() -> None:
    service = loaded_service(
        slotStepMinutes=15,
        bufferBeforeMinutes=5,
        bufferAfterMinutes=10,
        capacity=4,
        minNoticeMinutes=120,
        maxAdvanceDays=60,
        requiresConfirmation=True,
    )
    assert (
        service.slot_step_minutes,
        service.buffer_before_minutes,
        service.buffer_after_minutes,
        service.capacity,
        service.min_notice_minutes,
        service.max_advance_days,
        service.requires_confirmation,
    ) == (15, 5, 10, 4, 120, 60, True)


# -- zone chain: staff -> branch -> site ---------------------------------------------------


def staff_zone(staff_tz: str | None, branch_tz: str | None) -> str:
    branch: dict[str, Any] = {"id": "b"}
    if branch_tz:
        branch["timezone"] = branch_tz
    member: dict[str, Any] = {"id": "alice", "branchId": "b", "timezone": staff_tz}
    catalog = make_catalog(staff=[member], branches=[branch], timezone="Europe/Berlin")
    return catalog.site(SITE).staff["alice"].zone.key


def test_staff_zone_wins_over_branch_and_site() -> None:
    assert staff_zone("Asia/Tokyo", "Europe/London") == "Asia/Tokyo"


def test_branch_zone_is_used_when_staff_has_none() -> None:
    assert staff_zone(None, "Europe/London") == "Europe/London"


def test_site_zone_is_used_when_staff_and_branch_have_none() -> None:
    assert staff_zone(None, None) == "Europe/Berlin"


# -- problems name their field path --------------------------------------------------------


def test_misspelt_site_zone_is_named_with_a_suggestion() -> None:
    path, message = only_problem(timezone="Europe/Berln")
    assert path == "sites[0].timezone"
    assert "'Europe/Berlin'" in message


def test_unknown_staff_zone_is_named() -> None:
    assert only_problem(staff=staff_with(timezone="Mars/Olympus"))[0] == f"{STAFF0}.timezone"


def test_misspelt_branch_zone_is_named_with_a_suggestion() -> None:
    path, message = only_problem(branches=[{"id": "b", "timezone": "America/New_Yrok"}])
    assert path == "sites[0].branches[0].timezone"
    assert "'America/New_York'" in message


def test_missing_site_zone_is_named() -> None:
    raw = site_dict()
    del raw["timezone"]
    assert problems_of({"sites": [raw]}) == [("sites[0].timezone", "is required")]


@pytest.mark.parametrize(
    "text",
    ["09:xx-10:00", "25:00-10:00", "24:00-10:00", "09:00-25:00", "9:00-10:00", "09:60-10:00"],
)
def test_bad_time_is_named_by_range_path(text: str) -> None:
    assert only_problem(staff=staff_with(weeklyHours={"mon": [text]}))[0] == (
        f"{STAFF0}.weeklyHours.mon[0]"
    )


def test_range_without_a_dash_is_named() -> None:
    path, _ = only_problem(staff=staff_with(weeklyHours={"tue": ["09:00"]}))
    assert path == f"{STAFF0}.weeklyHours.tue[0]"


def test_24_00_is_a_valid_end() -> None:
    make_catalog(staff=staff_with(weeklyHours={"mon": ["18:00-24:00", "00:00-06:00"]}))


def test_24_00_as_a_start_is_refused() -> None:
    path, message = only_problem(staff=staff_with(weeklyHours={"mon": ["24:00-02:00"]}))
    assert path == f"{STAFF0}.weeklyHours.mon[0]"
    assert "24:00" in message


def test_range_object_with_bad_end_is_named() -> None:
    raw = {"start": "09:00", "end": "17:6"}
    assert only_problem(staff=staff_with(weeklyHours={"fri": [raw]}))[0] == (
        f"{STAFF0}.weeklyHours.fri[0]"
    )


def test_range_whose_start_equals_its_end_is_refused() -> None:
    assert only_problem(staff=staff_with(weeklyHours={"mon": ["09:00-09:00"]}))[0] == (
        f"{STAFF0}.weeklyHours.mon[0]"
    )


def test_break_whose_start_equals_its_end_is_refused() -> None:
    assert only_problem(staff=staff_with(breaks={"mon": ["12:00-12:00"]}))[0] == (
        f"{STAFF0}.breaks.mon[0]"
    )


def test_overlapping_ranges_of_one_day_are_refused() -> None:
    hours = {"mon": ["09:00-12:00", "11:00-13:00"]}
    path, message = only_problem(staff=staff_with(weeklyHours=hours))
    assert path == f"{STAFF0}.weeklyHours.mon[1]"
    assert "overlaps" in message


def test_overlapping_ranges_in_a_date_override_are_refused() -> None:
    raw = {"2026-03-02": ["13:00-15:00", "09:00-13:30"]}
    assert only_problem(staff=staff_with(dateOverrides=raw))[0] == (
        f"{STAFF0}.dateOverrides.2026-03-02[0]"
    )


def test_every_range_overlapping_an_earlier_one_is_reported() -> None:
    hours = {"mon": ["09:00-17:00", "10:00-11:00", "12:00-13:00"]}
    assert [p for p, _ in site_problems(staff=staff_with(weeklyHours=hours))] == [
        f"{STAFF0}.weeklyHours.mon[1]",
        f"{STAFF0}.weeklyHours.mon[2]",
    ]


def test_touching_ranges_do_not_overlap() -> None:
    make_catalog(staff=staff_with(weeklyHours={"mon": ["09:00-12:00", "12:00-13:00"]}))


def test_unknown_weekday_key_is_named() -> None:
    path, message = only_problem(staff=staff_with(weeklyHours={"monday": ["09:00-10:00"]}))
    assert path == f"{STAFF0}.weeklyHours.monday"
    assert "weekday" in message


def test_unknown_weekday_key_in_breaks_is_named() -> None:
    assert only_problem(staff=staff_with(breaks={"thur": ["12:00-13:00"]}))[0] == (
        f"{STAFF0}.breaks.thur"
    )


def test_bad_override_date_is_named() -> None:
    assert only_problem(staff=staff_with(dateOverrides={"2026-02-30": []}))[0] == (
        f"{STAFF0}.dateOverrides.2026-02-30"
    )


@pytest.mark.parametrize(
    ("part", "path"),
    [
        ("staff", "sites[0].staff[1].id"),
        ("services", "sites[0].services[1].id"),
        ("branches", "sites[0].branches[1].id"),
    ],
)
def test_duplicate_ids_are_named(part: str, path: str) -> None:
    items = {
        "staff": [{"id": "x"}, {"id": "x"}],
        "services": [{"id": "x", "durationMinutes": 30}, {"id": "x", "durationMinutes": 60}],
        "branches": [{"id": "x"}, {"id": "x"}],
    }[part]
    assert only_problem(**{part: items})[0] == path


def test_duplicate_site_ids_are_named() -> None:
    found = problems_of({"sites": [site_dict(), site_dict()]})
    assert [p for p, _ in found] == ["sites[1].id"]


def test_unknown_staff_in_service_staff_ids_is_named() -> None:
    path, message = only_problem(services=service_with(staffIds=["alice", "bob"]))
    assert path == f"{SERVICE0}.staffIds[1]"
    assert "'bob'" in message


def test_unknown_branch_in_service_branch_ids_is_named() -> None:
    path, message = only_problem(services=service_with(branchIds=["nowhere"]))
    assert path == f"{SERVICE0}.branchIds[0]"
    assert "'nowhere'" in message


def test_unknown_staff_branch_is_named() -> None:
    path, message = only_problem(staff=staff_with(branchId="nowhere"))
    assert path == f"{STAFF0}.branchId"
    assert "'nowhere'" in message


def test_non_string_staff_branch_is_named() -> None:
    assert only_problem(staff=staff_with(branchId=["mitte"]))[0] == f"{STAFF0}.branchId"


def test_unknown_range_branch_is_reported() -> None:
    raw = {"mon": [{"start": "09:00", "end": "12:00", "branchId": "nowhere"}]}
    _, message = only_problem(staff=staff_with(weeklyHours=raw))
    assert "'nowhere'" in message


def test_unknown_range_branch_is_named_by_the_range_path() -> None:
    raw = {"mon": [{"start": "09:00", "end": "12:00", "branchId": "nowhere"}]}
    assert only_problem(staff=staff_with(weeklyHours=raw))[0] == (
        f"{STAFF0}.weeklyHours.mon[0].branchId"
    )


def test_range_branch_is_not_allowed_in_breaks() -> None:
    raw = {"mon": [{"start": "12:00", "end": "13:00", "branchId": "b"}]}
    found = only_problem(staff=staff_with(breaks=raw), branches=[{"id": "b"}])
    assert found[0] == f"{STAFF0}.breaks.mon[0].branchId"


@pytest.mark.parametrize("minutes", [0, -30])
def test_zero_or_negative_duration_is_named(minutes: int) -> None:
    services = [{"id": "svc", "durationMinutes": minutes}]
    assert only_problem(services=services)[0] == f"{SERVICE0}.durationMinutes"


def test_missing_duration_is_named() -> None:
    assert only_problem(services=[{"id": "svc"}]) == (f"{SERVICE0}.durationMinutes", "is required")


def test_fractional_duration_is_named() -> None:
    services = [{"id": "svc", "durationMinutes": 30.5}]
    assert only_problem(services=services)[0] == f"{SERVICE0}.durationMinutes"


@pytest.mark.parametrize("step", [0, -15])
def test_zero_or_negative_step_is_named(step: int) -> None:
    assert only_problem(services=service_with(slotStepMinutes=step))[0] == (
        f"{SERVICE0}.slotStepMinutes"
    )


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_below_one_is_named(capacity: int) -> None:
    assert only_problem(services=service_with(capacity=capacity))[0] == f"{SERVICE0}.capacity"


@pytest.mark.parametrize("key", ["bufferBeforeMinutes", "bufferAfterMinutes", "minNoticeMinutes"])
def test_negative_minutes_are_named(key: str) -> None:
    assert only_problem(services=service_with(**{key: -5}))[0] == f"{SERVICE0}.{key}"


def test_requires_confirmation_must_be_a_boolean() -> None:
    assert only_problem(services=service_with(requiresConfirmation="yes"))[0] == (
        f"{SERVICE0}.requiresConfirmation"
    )


def recurring(rrule: str, **extra: Any) -> list[dict[str, Any]]:
    return staff_with(
        recurring=[{"rrule": rrule, "dtstart": "2026-01-03", "hours": ["10:00-14:00"], **extra}]
    )


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=HOURLY",
        "FREQ=WEEKLY;DTSTART=20260103",
        "FREQ=WEEKLY;INTERVAL=two",
        "BYDAY=SA",
        "not a rule",
    ],
)
def test_bad_rrule_is_named(rrule: str) -> None:
    assert only_problem(staff=recurring(rrule))[0] == f"{STAFF0}.recurring[0].rrule"


def test_recurrence_without_dtstart_is_named() -> None:
    rule = [{"rrule": "FREQ=WEEKLY;BYDAY=SA", "hours": ["10:00-14:00"]}]
    assert only_problem(staff=staff_with(recurring=rule)) == (
        f"{STAFF0}.recurring[0].dtstart",
        "is required",
    )


def test_bad_recurrence_hours_are_named() -> None:
    rule = [{"rrule": "FREQ=WEEKLY;BYDAY=SA", "dtstart": "2026-01-03", "hours": ["10:00-14"]}]
    assert only_problem(staff=staff_with(recurring=rule))[0] == f"{STAFF0}.recurring[0].hours[0]"


def test_misspelt_site_key_is_named_with_a_suggestion() -> None:
    raw = site_dict()
    raw["servces"] = raw.pop("services")
    assert problems_of({"sites": [raw]}) == [
        ("sites[0].servces", "unknown key (did you mean 'services'?)")
    ]


def test_misspelt_service_key_is_named_with_a_suggestion() -> None:
    path, message = only_problem(services=service_with(slotStepMinuts=15))
    assert path == f"{SERVICE0}.slotStepMinuts"
    assert "'slotStepMinutes'" in message


def test_misspelt_staff_key_is_named() -> None:
    assert only_problem(staff=staff_with(weeklyHour={}))[0] == f"{STAFF0}.weeklyHour"


def test_unknown_top_level_key_is_named() -> None:
    assert [p for p, _ in problems_of({"sites": [site_dict()], "site": []})] == ["site"]


def test_time_off_without_offset_is_named() -> None:
    off = [{"start": "2026-08-01T00:00:00", "end": "2026-08-15T00:00:00+02:00"}]
    path, message = only_problem(staff=staff_with(timeOff=off))
    assert path == f"{STAFF0}.timeOff[0].start"
    assert "offset" in message


def test_time_off_ending_before_it_starts_is_named() -> None:
    off = [{"start": "2026-08-15T00:00:00+02:00", "end": "2026-08-01T00:00:00+02:00"}]
    assert only_problem(staff=staff_with(timeOff=off))[0] == f"{STAFF0}.timeOff[0]"


def test_three_typos_report_three_problems() -> None:
    found = site_problems(
        timezone="Europe/Berln",
        services=service_with(bufferAfterMinuts=10),
        staff=staff_with(weeklyHours={"mon": ["09:00-1700"]}),
    )
    assert [p for p, _ in found] == [
        "sites[0].timezone",
        f"{STAFF0}.weeklyHours.mon[0]",
        f"{SERVICE0}.bufferAfterMinuts",
    ]


def test_problems_in_several_sites_are_all_reported() -> None:
    bad_a = site_dict(services=[{"id": "svc", "durationMinutes": 0}])
    bad_b = {**site_dict(timezone="Nowhere/Land"), "id": "t"}
    assert [p for p, _ in problems_of({"sites": [bad_a, bad_b]})] == [
        f"{SERVICE0}.durationMinutes",
        "sites[1].timezone",
    ]


def test_a_valid_catalog_loads_the_hour_service() -> None:
    assert (
        make_catalog().site(SITE).services["svc"].duration_minutes
        == (HOUR_SERVICE["durationMinutes"])
    )


def test_unknown_key_in_a_range_object_is_named_with_a_suggestion() -> None:
    raw = {"mon": [{"start": "09:00", "end": "12:00", "brnchId": "b"}]}
    path, message = only_problem(staff=staff_with(weeklyHours=raw), branches=[{"id": "b"}])
    assert path == f"{STAFF0}.weeklyHours.mon[0].brnchId"
    assert "'branchId'" in message


def test_bad_api_key_digest_is_named() -> None:
    raw = site_dict()
    raw["apiKeys"] = [{"id": "dash", "sha256": "not-hex"}]
    assert [p for p, _ in problems_of({"sites": [raw]})] == ["sites[0].apiKeys[0].sha256"]


def test_list_field_given_a_string_is_named() -> None:
    assert only_problem(services=service_with(staffIds="alice"))[0] == f"{SERVICE0}.staffIds"


def test_utc_is_an_accepted_zone_name() -> None:
    assert make_catalog(timezone="UTC").site(SITE).staff["alice"].zone.key in {"UTC", "Etc/UTC"}


def test_toml_file_with_a_syntax_error_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[[sites]]\nid = "s"\nid = "t"\n', "utf-8")
    assert len(problems_of(path)) == 1


def test_one_api_key_on_two_sites_is_a_catalog_problem() -> None:
    digest = "ab" * 32
    sites = [
        {"id": name, "timezone": "UTC", "apiKeys": [{"id": "k", "sha256": digest}]}
        for name in ("one", "two")
    ]
    with pytest.raises(CatalogError) as caught:
        load_catalog({"sites": sites})
    assert [path for path, _ in caught.value.problems] == ["sites[two].apiKeys[k].sha256"]
