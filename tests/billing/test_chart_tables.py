"""The chart data tables: built in Python for speed, the same HTML as Django's escaping helpers would give."""

from django.utils.html import format_html_join
from hypothesis import given
from hypothesis import strategies as st

from billing.period_charts import ChartSeries
from billing.templatetags.billing_format import chart_table_rows


@given(
    labels=st.lists(st.text(max_size=12), max_size=8),
    numbers=st.lists(st.floats(allow_nan=False), max_size=8),
    period_labels=st.lists(st.text(max_size=12), max_size=8),
    key=st.sampled_from(["day", "week"]),
    with_export=st.booleans(),
)
def test_chart_tables_are_the_html_format_html_join_would_build(labels, numbers, period_labels, key, with_export):
    chart = ChartSeries(key, "t", "kWh", labels=labels, delivered=numbers, received=numbers[::-1], period_labels=period_labels)
    columns = [chart.labels, chart.delivered] + ([chart.received or [0] * len(labels)] if with_export else [])
    columns += [chart.period_labels] if chart.period_labels else []  # interval and hour charts name the price period
    cells = "".join("<td>{}</td>" for _ in columns[1:])
    expected = format_html_join("", '<tr><th scope="row">{}</th>' + cells + "</tr>", zip(*columns, strict=False))
    assert str(chart_table_rows(chart, with_export)) == str(expected)
