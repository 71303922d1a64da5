import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from core.periods import Period
from orders.models import Customer, Order, OrderStatus
from orders.volume import distributor_volume
from tests.factories import CustomerFactory, make_distributor, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann_client(client, distributor):
    client.force_login(distributor.user)
    return client


@pytest.fixture
def online_payment(settings):
    settings.LADDER_ONLINE_PAYMENT_PROVIDER = "test"


def test_order_entry_flow_totals_place_pay_and_history(
    ann_client, distributor, vitamins, shake, online_payment
):
    # The page lists the catalog
    page = ann_client.get(reverse("order_new"))
    assert page.status_code == 200
    assert b"Vitamins" in page.content and b"Shake" in page.content

    # htmx: live totals for what is typed
    form = {"buyer": "self", f"qty_{vitamins.pk}": "2", f"qty_{shake.pk}": "1"}
    totals = ann_client.post(reverse("order_totals"), form, HTTP_HX_REQUEST="true")
    assert totals.status_code == 200
    html = totals.content.decode()
    assert "87.99 USD" in html  # 2 × 24.00 + 39.99
    assert "72.50" in html  # PV 2 × 20 + 32.50
    assert "<html" not in html  # a fragment

    # Review, then place
    review = ann_client.post(reverse("order_new"), {**form, "step": "review"})
    assert review.status_code == 200 and b"Place order" in review.content
    placed = ann_client.post(reverse("order_new"), {**form, "step": "place"})
    order = Order.objects.get(distributor=distributor)
    assert placed.url == reverse("order_detail", args=[order.pk])
    assert order.status == OrderStatus.PLACED

    # Pay with the test provider
    ann_client.post(reverse("order_pay", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    # It appears in the history with its PV and CV, and counts as volume
    history = ann_client.get(reverse("orders_home")).content.decode()
    assert f"#{order.pk}" in history and "72.50" in history and "65.25" in history
    assert distributor_volume(
        distributor_id=distributor.pk, period=Period.containing(order.paid_at)
    ).pv == Decimal("72.50")


def test_order_for_a_new_customer_creates_the_customer(ann_client, distributor, vitamins):
    form = {
        "buyer": "new",
        "new_name": "Carla Client",
        "new_email": "carla@example.net",
        f"qty_{vitamins.pk}": "1",
        "step": "place",
    }
    ann_client.post(reverse("order_new"), form)
    order = Order.objects.get()
    assert order.purpose == "retail"
    assert order.total_amount == Decimal("32.00")
    assert order.customer.name == "Carla Client"
    assert order.customer.distributor_id == distributor.pk


def test_order_entry_shows_clear_errors(ann_client, vitamins):
    response = ann_client.post(
        reverse("order_new"), {"buyer": "self", f"qty_{vitamins.pk}": "500", "step": "place"}
    )
    assert response.status_code == 422
    assert b"at most 100" in response.content
    response = ann_client.post(
        reverse("order_new"), {"buyer": "self", f"qty_{vitamins.pk}": "-1", "step": "place"}
    )
    assert b"at least 1" in response.content
    response = ann_client.post(reverse("order_new"), {"buyer": "self", "step": "place"})
    assert b"Add at least one product" in response.content
    assert not Order.objects.exists()


def test_order_for_another_distributors_customer_is_404(ann_client, other_distributor, vitamins):
    theirs = CustomerFactory(distributor=other_distributor)
    response = ann_client.post(
        reverse("order_new"),
        {"buyer": "customer", "customer": theirs.pk, f"qty_{vitamins.pk}": "1", "step": "place"},
    )
    assert response.status_code == 404
    assert not Order.objects.exists()


def test_product_search_keeps_chosen_products(ann_client, vitamins, shake):
    response = ann_client.get(reverse("order_products"), {"q": "shak", f"qty_{vitamins.pk}": "2"})
    html = response.content.decode()
    assert "Shake" in html and "Vitamins" in html and 'value="2"' in html
    response = ann_client.get(reverse("order_products"), {"q": "nothing-like-this"})
    assert b"No product matches" in response.content


def _other_peoples_urls(order, customer):
    return [
        ("get", reverse("order_detail", args=[order.pk])),
        ("get", reverse("order_receipt", args=[order.pk])),
        ("post", reverse("order_pay", args=[order.pk])),
        ("post", reverse("order_cancel", args=[order.pk])),
        ("get", reverse("customer_edit", args=[customer.pk])),
        ("post", reverse("customer_edit", args=[customer.pk])),
    ]


URL_COUNT = 6


@pytest.mark.parametrize("index", range(URL_COUNT))
def test_every_url_with_an_id_is_404_for_someone_elses_data(
    ann_client, other_distributor, vitamins, online_payment, index
):
    customer = CustomerFactory(distributor=other_distributor)
    order = make_order(distributor=other_distributor, items={vitamins: 1}, customer=customer)
    urls = _other_peoples_urls(order, customer)
    assert len(urls) == URL_COUNT
    method, url = urls[index]

    response = getattr(ann_client, method)(url, {"name": "Hacked"} if method == "post" else {})

    assert response.status_code == 404
    order.refresh_from_db()
    customer.refresh_from_db()
    assert order.status == OrderStatus.PLACED and customer.name != "Hacked"


def test_downline_data_is_not_visible_either(client, vitamins):
    sponsor = make_distributor()
    enrollee = make_distributor(sponsor=sponsor)
    order = make_order(distributor=enrollee, items={vitamins: 1})
    client.force_login(sponsor.user)
    assert client.get(reverse("order_detail", args=[order.pk])).status_code == 404
    assert f"#{order.pk}" not in client.get(reverse("orders_home")).content.decode()


def test_history_filters_empty_state_csv_and_query_count(
    ann_client, distributor, other_distributor, vitamins, django_assert_max_num_queries
):
    assert b"No orders yet" in ann_client.get(reverse("orders_home")).content
    customer = CustomerFactory(distributor=distributor, name="Carla")
    paid = make_order(
        distributor=distributor,
        items={vitamins: 1},
        customer=customer,
        paid_at=dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC),
    )
    for _ in range(30):
        make_order(distributor=distributor, items={vitamins: 1})
    make_order(distributor=other_distributor, items={vitamins: 1})

    with django_assert_max_num_queries(8):
        page = ann_client.get(reverse("orders_home"))
    assert page.status_code == 200 and b"Page 1 of 2" in page.content

    filtered = ann_client.get(reverse("orders_home"), {"customer": customer.pk, "status": "paid"})
    assert f"#{paid.pk}" in filtered.content.decode()
    assert filtered.context["page"].paginator.count == 1
    nothing = ann_client.get(reverse("orders_home"), {"status": "shipped"})
    assert b"No order matches" in nothing.content

    export = ann_client.get(reverse("orders_export"), {"customer": customer.pk})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][0] == "order" and len(rows) == 2 and rows[1][0] == str(paid.pk)
    everything = ann_client.get(reverse("orders_export"))
    assert len(list(csv.reader(io.StringIO(b"".join(everything.streaming_content).decode())))) == 32


def test_receipt_and_detail_render(ann_client, distributor, vitamins):
    order = make_order(
        distributor=distributor,
        items={vitamins: 2},
        paid_at=dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC),
    )
    assert b"48.00 USD" in ann_client.get(reverse("order_receipt", args=[order.pk])).content
    detail = ann_client.get(reverse("order_detail", args=[order.pk]))
    assert b"Paid" in detail.content and b"Cancel order" not in detail.content


def test_distributor_cancels_an_unpaid_order(ann_client, distributor, vitamins):
    order = make_order(distributor=distributor, items={vitamins: 1})
    ann_client.post(reverse("order_cancel", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancelled_by == distributor.user


def test_customers_list_search_pagination_add_and_edit(
    ann_client, distributor, other_distributor, django_assert_max_num_queries
):
    assert b"No customers yet" in ann_client.get(reverse("customers_home")).content
    response = ann_client.post(
        reverse("customer_new"), {"name": "Dana Doe", "email": "dana@example.net"}
    )
    assert response.status_code == 302
    duplicate = ann_client.post(
        reverse("customer_new"), {"name": "Dana Two", "email": "DANA@example.net"}
    )
    assert b"already have a customer" in duplicate.content
    for index in range(30):
        CustomerFactory(distributor=distributor, name=f"Zed {index:02d}")
    CustomerFactory(distributor=other_distributor, name="Not Mine")

    with django_assert_max_num_queries(6):
        page = ann_client.get(reverse("customers_home"))
    assert b"Dana Doe" in page.content and b"Not Mine" not in page.content
    assert page.context["page"].paginator.count == 31
    found = ann_client.get(reverse("customers_home"), {"q": "dana"})
    assert found.context["page"].paginator.count == 1
    assert (
        b"No customer matches" in ann_client.get(reverse("customers_home"), {"q": "qqqq"}).content
    )

    dana = Customer.objects.get(name="Dana Doe")
    ann_client.post(
        reverse("customer_edit", args=[dana.pk]), {"name": "Dana D.", "phone": "201 555 0123"}
    )
    dana.refresh_from_db()
    assert (dana.name, dana.phone, dana.email) == ("Dana D.", "+12015550123", "")


def test_staff_without_distributor_is_told_to_use_the_admin(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("order_new"))
    assert response.status_code == 403 and b"admin" in response.content


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(reverse("orders_home"))
    assert response.status_code == 302 and "login" in response.url
    assert make_distributor  # keep the import used
