"""Operations artefacts generated from code: the Grafana dashboard shipped in the chart.

Nothing here runs in the operator; the generator needs the ``ops`` extra (grafana-foundation-sdk).
"""
