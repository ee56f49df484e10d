"""Photos of hidden dangers: checked by content and size, served only through a scoped view."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from eventguard.core.testing import client_for
from eventguard.equipment.testing import JPEG_BYTES, PNG_BYTES, WEBP_BYTES, photo
from eventguard.hazards import services
from eventguard.hazards.models import HazardPhoto


def _report(w, photos, actor=None):
    return services.hazard_report(
        actor=actor, event=w.event, title="轿门夹人", equipment=w.lift_a, photos=photos
    )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg"), (WEBP_BYTES, "image/webp")],
)
def test_images_are_recognised_by_their_content(world, content, content_type, _media_root):
    hazard = _report(world, [photo("whatever.bin", content)])
    stored = hazard.photos.get()
    assert stored.content_type == content_type
    assert stored.size == len(content)
    assert (_media_root / stored.file.name).read_bytes() == content
    assert stored.step == hazard.steps.get()


def test_a_file_named_like_an_image_is_refused_and_nothing_is_written(world, _media_root):
    with pytest.raises(ValidationError) as exc:
        _report(world, [photo("evil.jpg", b"<html><script>alert(1)</script></html>")])
    assert (
        "evil.jpg" in exc.value.messages[0] and "not a JPEG, PNG or WebP" in exc.value.messages[0]
    )
    assert not world.event.hazards.exists()
    assert not list(_media_root.rglob("*.*"))


def test_a_photo_over_the_limit_is_refused(world, settings, _media_root):
    settings.EVENTGUARD_PHOTO_MAX_BYTES = 50
    with pytest.raises(ValidationError) as exc:
        _report(world, [photo("big.png", PNG_BYTES + b"\0" * 100)])
    assert "at most" in exc.value.messages[0]
    assert not world.event.hazards.exists()
    # A later invalid photo undoes the files already stored for the same step.
    with pytest.raises(ValidationError):
        _report(world, [photo("ok.png", PNG_BYTES[:40]), photo("big.png", PNG_BYTES * 3)])
    assert not list(_media_root.rglob("*.png"))


def test_the_default_limit_is_ten_megabytes():
    assert services.photo_max_bytes() == 10 * 1024 * 1024


def test_evidence_photos_ride_on_the_rectify_step(world):
    hazard = _report(world, [])
    hazard = services.hazard_assign(
        actor=None,
        hazard=hazard,
        assignee=world.operator_a,
        measure="更换",
        deadline=timezone.now() + dt.timedelta(days=1),
    )
    hazard = services.hazard_rectify(
        actor=world.operator_a, hazard=hazard, evidence="已更换", photos=[photo()]
    )
    assert hazard.steps.get(action="rectify").photos.count() == 1


def test_photos_are_served_only_to_those_who_see_the_hazard(world):
    hazard = _report(world, [photo()])
    stored = hazard.photos.get()
    url = reverse("hazards:hazard_photo", args=[world.event.code, hazard.pk, stored.pk])
    response = client_for(world.operator_a).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG_BYTES
    assert client_for(world.operator_b).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302  # to the login page
    # The photo of another hazard under this hazard's URL does not exist.
    other = _report(world, [photo()])
    wrong = reverse(
        "hazards:hazard_photo", args=[world.event.code, hazard.pk, other.photos.get().pk]
    )
    assert client_for(world.operator_a).get(wrong).status_code == 404
    assert HazardPhoto.objects.count() == 2
