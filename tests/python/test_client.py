"""A real external client: Python grpcio with stubs generated from proto/ by
grpcio-tools, against a running `jixiao serve` at $JIXIAO_ADDR."""

import os
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2

GEN = Path(__file__).parent / "gen"
sys.path.insert(0, str(GEN))

from jixiao.v1 import form_pb2, results_pb2, services_pb2, services_pb2_grpc  # noqa: E402

ADDR = os.environ.get("JIXIAO_ADDR", "127.0.0.1:50051")
TENANT = "湖南省/株洲市"


@pytest.fixture(scope="module")
def channel():
    ch = grpc.insecure_channel(ADDR)
    grpc.channel_ready_future(ch).result(timeout=30)
    yield ch
    ch.close()


def zhuzhou_admin_form():
    """2024 行政运行（其他）经费, typed by hand from zhuzhou-gxj-2024.txt lines 509-710."""

    def m(raw):
        return form_pb2.Measure(raw=raw)

    def row(l1, l2, name, target, actual, weight, score):
        return form_pb2.Indicator(
            level1=l1, level2=l2, name=name, target=m(target), actual=m(actual),
            weight=weight, self_score=score,
        )

    return form_pb2.Form(
        kind=form_pb2.FORM_KIND_PROJECT,
        project_name="行政运行（其他）经费",
        units=form_pb2.Units(
            competent_department="株洲市工业和信息化局",
            implementing_unit="株洲市工业和信息化局机关",
            region=TENANT,
        ),
        fiscal_year=2024,
        funds=form_pb2.FundBlock(
            rows=[
                form_pb2.FundRow(source=form_pb2.FUND_SOURCE_CURRENT_APPROPRIATION, label="当年财政拨款",
                                 initial_budget="433.32", full_year_budget="418.85", executed="418.85"),
                form_pb2.FundRow(source=form_pb2.FUND_SOURCE_TOTAL, label="年度资金总额",
                                 initial_budget="433.32", full_year_budget="418.85", executed="418.85"),
            ],
            weight="10", stated_execution_rate="100%", stated_score="10",
        ),
        goals=[form_pb2.Goal(expected="维持办公场所基本运行，保障工信工作正常开展。",
                             actual="机关办公运转正常，业务工作有序开展。")],
        indicators=[
            row("产出指标", "数量指标", "可供正常使用的会议室数量", "≥4个", "4", "10", "10"),
            row("产出指标", "质量指标", "办公楼等工作场所正常运转天数", "≥360天", "全年", "20", "20"),
            row("产出指标", "时效指标", "物业保障周期", "=12月", "12个月", "10", "10"),
            row("效益指标", "经济效益指标", "维修（护）费", "较去年下降", "下降4.14万元", "5", "5"),
            row("效益指标", "社会效益指标", "对单位业务管理水平的提升或影响程度", "明显", "明显", "5", "5"),
            row("效益指标", "生态效益指标", "/", "/", "/", "", ""),
            row("效益指标", "可持续影响指标", "办公环境", "进一步改善", "改善", "10", "10"),
            row("满意度指标", "服务对象满意度指标", "机关工作人员满意度", "≥90%", "98%", "10", "10"),
            row("成本指标", "经济成本指标", "指标支付进度", "≥95%", "96.66%", "10", "10"),
            row("成本指标", "社会成本指标", "全年电费", "较去年下降", "下降2.8万元", "10", "10"),
            row("成本指标", "生态环境成本指标", "/", "/", "/", "", ""),
        ],
        section_weights=[
            form_pb2.SectionWeight(level1="产出指标", weight="40"),
            form_pb2.SectionWeight(level1="效益指标", weight="20"),
            form_pb2.SectionWeight(level1="满意度指标", weight="10"),
            form_pb2.SectionWeight(level1="成本指标", weight="20"),
        ],
        stated_total="100",
        filer=form_pb2.Filer(name="丁鑫禹", date="2025.5.16", phone="28681018"),
    )


def test_health_and_services_are_served(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "jixiao.v1.IntakeService", "jixiao.v1.ScoringService",
                    "jixiao.v1.AuditService", "jixiao.v1.ExportService"]:
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service


def test_submit_and_read_back(channel):
    intake = services_pb2_grpc.IntakeServiceStub(channel)
    scoring = services_pb2_grpc.ScoringServiceStub(channel)
    form = zhuzhou_admin_form()
    reply = intake.SubmitForm(services_pb2.SubmitFormRequest(tenant=TENANT, form=form), timeout=10)
    sub = reply.submission
    assert sub.id.startswith("sub_")
    assert sub.project_name == "行政运行（其他）经费"
    assert sub.budget_unit == "株洲市工业和信息化局"
    assert len(sub.content_digest) == 64

    deadline = time.time() + 30
    while True:
        got = intake.GetSubmission(services_pb2.GetSubmissionRequest(id=sub.id), timeout=10)
        if got.status == results_pb2.SUBMISSION_STATUS_AUDITED or time.time() > deadline:
            break
        time.sleep(0.1)
    assert got.status == results_pb2.SUBMISSION_STATUS_AUDITED
    back = got.form
    assert back.project_name == form.project_name
    assert [r.executed for r in back.funds.rows] == ["418.85", "418.85"]
    first = back.indicators[0].target
    assert (first.raw, first.value, first.unit, first.direction) == ("≥4个", "4", "个", form_pb2.DIRECTION_AT_LEAST)
    assert back.indicators[5].target.kind == form_pb2.VALUE_KIND_NOT_APPLICABLE

    card = scoring.GetScoreCard(services_pb2.GetScoreCardRequest(submission_id=sub.id), timeout=10)
    assert card.input_digest == sub.content_digest
    assert card.lines[0].recomputed_score == "10.00"
    # 全年 is not a number of days: unverifiable, self score kept.
    assert card.lines[2].status == results_pb2.LINE_STATUS_UNVERIFIABLE
    assert card.recomputed_total == "100.00"

    again = intake.SubmitForm(services_pb2.SubmitFormRequest(tenant=TENANT, form=form), timeout=10)
    assert again.deduplicated and again.submission.id == sub.id


def test_invalid_form_names_the_field(channel):
    intake = services_pb2_grpc.IntakeServiceStub(channel)
    form = zhuzhou_admin_form()
    form.funds.rows[0].executed = "-418.85"
    with pytest.raises(grpc.RpcError) as err:
        intake.SubmitForm(services_pb2.SubmitFormRequest(tenant=TENANT, form=form), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err.value)
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["form.funds.rows[0].executed"]
    assert "negative" in bad.field_violations[0].description


def test_csv_export_reads_in_python_with_chinese_intact(channel):
    import csv
    import io

    intake = services_pb2_grpc.IntakeServiceStub(channel)
    export = services_pb2_grpc.ExportServiceStub(channel)
    form = zhuzhou_admin_form()
    sub = intake.SubmitForm(services_pb2.SubmitFormRequest(tenant=TENANT, form=form), timeout=10).submission
    deadline = time.time() + 30
    while intake.GetSubmission(services_pb2.GetSubmissionRequest(id=sub.id), timeout=10).status != results_pb2.SUBMISSION_STATUS_AUDITED:
        assert time.time() < deadline
        time.sleep(0.1)
    chunks = list(export.ExportBatch(
        services_pb2.ExportBatchRequest(format=services_pb2.EXPORT_FORMAT_CSV, tenant=TENANT), timeout=30))
    assert chunks[0].content_type.startswith("text/csv") and chunks[0].file_name.endswith(".csv")
    data = b"".join(c.data for c in chunks)
    assert data.startswith("\ufeff".encode("utf-8")), "BOM so Excel reads UTF-8"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    row = next(r for r in rows if r["submission_id"] == sub.id)
    assert row["项目名称"] == "行政运行（其他）经费"
    assert row["预算单位"] == "株洲市工业和信息化局"
    assert (row["全年预算数"], row["全年执行数"], row["执行率"], row["执行率(填报)"]) == (
        "418.85", "418.85", "100.00%", "100%")
    assert (row["总分(填报)"], row["总分(重算)"], row["等级"]) == ("100", "100.00", "优")
    assert row["rulebook"] == "cn-national-default 2020.1"
