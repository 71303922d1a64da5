"""What measures Ladder and checks it against references, kept out of the shipped apps: the
naive ORM implementation of the commission rules (``naive``: the bench's reference and the
oracle tests'), the synthetic-period generator (``synthetic``) and the engine's own timer
(``python -m benchmarks.engine [n]``). The ``bench_*`` commands and the tests import it."""
