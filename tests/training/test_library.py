"""The training library: safe articles, PDF uploads, audiences, completion and progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import (
    TrainingItemFactory,
    closed_period_with_results,
    make_distributor,
    make_plan_version,
)
from training.forms import TrainingItemAdminForm
from training.models import TrainingCompletion, TrainingItem
from training.rendering import render_markdown
from training.selectors import progress_by_category

pytestmark = pytest.mark.django_db

RANKED_PLAN = {
    "name": "Ranked plan",
    "activity": {"personal_pv": "50"},
    "ranks": [
        {"code": "member", "name": "Member", "personal_pv": "50", "unilevel_levels": 1},
        {
            "code": "gold",
            "name": "Gold",
            "personal_pv": "100",
            "group_volume": "1000",
            "leg_cap_percent": "40",
            "personally_enrolled_active": 2,
            "unilevel_levels": 2,
            "advancement_bonus": "250",
        },
    ],
    "unilevel": {"percents": ["5", "7"]},
}

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def _item_form(**overrides) -> TrainingItemAdminForm:
    data = {
        "title": "Our policies",
        "summary": "",
        "category": "compliance",
        "kind": "pdf",
        "video_url": "",
        "body": "",
        "min_rank_code": "",
        "order": 0,
        "is_published": "on",
    }
    files = {"pdf": overrides.pop("pdf")} if "pdf" in overrides else {}
    data.update(overrides)
    return TrainingItemAdminForm(data=data, files=files)


# --- Articles are sanitized -------------------------------------------------------------------


def test_markdown_is_rendered_and_scripts_and_event_handlers_are_neutralized():
    html = render_markdown(
        "# Title\n\n**bold** <script>alert('x')</script>\n\n"
        '<img src="x.png" onerror="alert(1)">\n\n[link](javascript:alert(1))'
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
    assert "onerror" not in html
    assert "javascript:" not in html


def test_an_article_page_shows_the_cleaned_html(client):
    person = make_distributor()
    item = TrainingItemFactory(body='Hi <script>steal()</script><img src=x onerror="boom()">')
    client.force_login(person.user)

    response = client.get(reverse("training_item", args=[item.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>steal()" not in content
    assert "onerror" not in content


# --- Uploads ----------------------------------------------------------------------------------


def test_a_pdf_upload_is_stored_with_the_default_storage(media):
    form = _item_form(pdf=SimpleUploadedFile("policies.pdf", PDF_BYTES, "application/pdf"))

    assert form.is_valid(), form.errors
    item = form.save()

    assert item.pdf.name.startswith("training/")
    assert (media / item.pdf.name).read_bytes() == PDF_BYTES


def test_a_file_that_is_not_a_pdf_is_refused_with_a_clear_error(media):
    fake = SimpleUploadedFile("policies.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")

    form = _item_form(pdf=fake)

    assert not form.is_valid()
    assert "not a PDF document" in " ".join(form.errors["pdf"])


def test_a_file_without_the_pdf_extension_is_refused(media):
    form = _item_form(pdf=SimpleUploadedFile("policies.exe", PDF_BYTES, "application/pdf"))

    assert not form.is_valid()
    assert "pdf" in " ".join(form.errors["pdf"]).lower()


def test_a_pdf_above_the_configured_size_is_refused(media, settings):
    settings.LADDER_TRAINING_PDF_MAX_MB = 1
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * (1024 * 1024), "application/pdf")

    form = _item_form(pdf=big)

    assert not form.is_valid()
    assert "larger than 1 MB" in " ".join(form.errors["pdf"])


def test_each_kind_needs_its_content():
    form = _item_form(kind="article", body="")

    assert not form.is_valid()
    assert "Write the article" in " ".join(form.errors["body"])
    with pytest.raises(ValidationError):
        TrainingItem(title="Video", category="selling", kind="video").full_clean()


def test_a_pdf_is_served_only_to_those_who_may_see_it(client, media):
    item = TrainingItemFactory(
        kind="pdf", body="", pdf=SimpleUploadedFile("a.pdf", PDF_BYTES), min_rank_code=""
    )
    person = make_distributor()
    client.force_login(person.user)

    response = client.get(reverse("training_document", args=[item.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF_BYTES


# --- Audience ---------------------------------------------------------------------------------


def test_rank_gated_items_are_hidden_until_the_rank_is_reached_in_a_closed_period(client):
    make_plan_version(RANKED_PLAN)
    person = make_distributor()
    for_all = TrainingItemFactory(title="For everyone")
    for_gold = TrainingItemFactory(title="Gold leadership", min_rank_code="gold")
    client.force_login(person.user)

    listing = client.get(reverse("training_library")).content.decode()
    assert "For everyone" in listing
    assert "Gold leadership" not in listing
    assert client.get(reverse("training_item", args=[for_gold.pk])).status_code == 404

    # Member (rank 1) is not enough; reaching Gold (rank 2) in a closed period is.
    closed_period_with_results(dt.date(2025, 1, 1), {person: (0, 1, 1)})
    assert client.get(reverse("training_item", args=[for_gold.pk])).status_code == 404
    closed_period_with_results(dt.date(2025, 2, 1), {person: (0, 2, 2)})

    listing = client.get(reverse("training_library")).content.decode()
    assert "Gold leadership" in listing
    assert client.get(reverse("training_item", args=[for_gold.pk])).status_code == 200
    assert client.get(reverse("training_item", args=[for_all.pk])).status_code == 200


def test_unpublished_items_are_hidden_from_distributors(client):
    person = make_distributor()
    draft = TrainingItemFactory(title="Draft", is_published=False)
    client.force_login(person.user)

    assert client.get(reverse("training_item", args=[draft.pk])).status_code == 404
    assert "Draft" not in client.get(reverse("training_library")).content.decode()


# --- Browsing, completion and progress --------------------------------------------------------


def test_library_filters_by_category_and_searches_and_has_an_empty_state(client):
    person = make_distributor()
    TrainingItemFactory(title="Selling at parties", category="selling")
    TrainingItemFactory(title="Our vitamins", category="product", body="Vitamin C facts")
    client.force_login(person.user)

    selling = client.get(reverse("training_library"), {"category": "selling"}).content.decode()
    assert "Selling at parties" in selling and "Our vitamins" not in selling
    found = client.get(reverse("training_library"), {"q": "vitamin c"}).content.decode()
    assert "Our vitamins" in found and "Selling at parties" not in found
    nothing = client.get(reverse("training_library"), {"q": "zzz"}).content.decode()
    assert 'data-testid="empty-state"' in nothing


def test_the_library_paginates(client):
    person = make_distributor()
    TrainingItemFactory.create_batch(25)
    client.force_login(person.user)

    first = client.get(reverse("training_library")).content.decode()
    second = client.get(reverse("training_library"), {"page": 2}).content.decode()

    assert "Page 1 of 2" in first
    assert second.count("list-group-item-action") == 5


def test_marking_done_is_recorded_once_and_counts_in_the_category_progress(client):
    person = make_distributor()
    lesson = TrainingItemFactory(category="selling", is_required=True)
    TrainingItemFactory(category="selling")
    TrainingItemFactory(category="product")
    client.force_login(person.user)

    for _ in range(2):
        response = client.post(reverse("training_complete", args=[lesson.pk]))
        assert response.status_code == 302

    assert TrainingCompletion.objects.filter(distributor=person, item=lesson).count() == 1
    progress = {row.category: row for row in progress_by_category(person)}
    assert (progress["selling"].done, progress["selling"].total) == (1, 2)
    assert (progress["selling"].required_done, progress["selling"].required_total) == (1, 1)
    assert (progress["product"].done, progress["product"].total) == (0, 1)
    assert progress["compliance"].total == 0
    page = client.get(reverse("training_item", args=[lesson.pk])).content.decode()
    assert 'data-testid="done"' in page


def test_an_item_out_of_the_audience_cannot_be_marked_done(client):
    make_plan_version(RANKED_PLAN)
    person = make_distributor()
    gated = TrainingItemFactory(min_rank_code="gold")
    client.force_login(person.user)

    assert client.post(reverse("training_complete", args=[gated.pk])).status_code == 404
    assert not TrainingCompletion.objects.exists()


def test_library_query_count_does_not_grow_with_items(client, django_assert_max_num_queries):
    person = make_distributor()
    TrainingItemFactory.create_batch(20)
    client.force_login(person.user)

    with django_assert_max_num_queries(12):
        assert client.get(reverse("training_library")).status_code == 200
