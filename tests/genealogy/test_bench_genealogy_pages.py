"""The genealogy benchmark reads the house's team pages as staff with staff powers."""

import io

import pytest

from genealogy.demo import seed_company
from genealogy.management.commands.bench_genealogy import Command
from tests.factories import UserFactory, house

pytestmark = pytest.mark.django_db


def test_the_house_pages_answer_the_benchmark_staff_user():
    house()
    seed_company(distributors=40, seed=3)
    UserFactory(is_staff=True)
    command = Command(stdout=io.StringIO())
    command.rows = []
    command.size = 41

    command.measure_pages()

    figures = dict(command.rows)
    house_pages = {what: figure for what, figure in figures.items() if " at house " in what}
    assert house_pages, figures
    assert all("HTTP" not in figure for figure in house_pages.values()), house_pages
