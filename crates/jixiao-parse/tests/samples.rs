//! The real submissions in tests/samples (copies of ../shared/samples): every
//! form is found, and a dozen forms match golden files checked by hand against
//! the text, field by field.

use jixiao_form::{Form, FormKind};
use jixiao_parse::parse_text;

fn parse(name: &str) -> Vec<Form> {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    let parsed = parse_text(name, &bytes).unwrap();
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.forms
}

fn names(forms: &[Form]) -> Vec<(FormKind, String, u32)> {
    forms
        .iter()
        .map(|f| {
            let name = if f.project_name.is_empty() {
                f.units.primary().to_string()
            } else {
                f.project_name.clone()
            };
            (f.kind, name, f.origin.first_line)
        })
        .collect()
}

#[test]
fn every_form_of_zhuzhou_2024_is_found() {
    let forms = parse("zhuzhou-gxj-2024.txt");
    let expected = [
        (FormKind::DepartmentBasicData, "株洲市工业和信息化局", 2),
        (FormKind::Department, "株洲市工业和信息化局", 231),
        (FormKind::Project, "行政运行（其他）经费", 509),
        (
            FormKind::Project,
            "市工信局2023年信息化改造项目结转资金",
            727,
        ),
        (FormKind::Project, "央企对接现场会相关经费", 946),
        (FormKind::Project, "产业链发展专项资金", 1176),
        (
            FormKind::Project,
            "大唐华银株洲两家电厂固体废物综合利用复核经费",
            1414,
        ),
        (
            FormKind::Project,
            "市工信局2023年企业办事不求人等工作部分结余指标",
            1629,
        ),
        (FormKind::Project, "人才示范培训班专项", 1857),
        (FormKind::Project, "2024年度企业办事不求人工作经费", 2073),
        (FormKind::Project, "2024年中小企业服务体系项目", 2299),
        (FormKind::Project, "2024年度开展供需对接活动经费", 2523),
        (FormKind::Project, "全省“智赋万企”推进会资金", 2749),
        (
            FormKind::Project,
            "2024年重点项目经费经建科划转3.32万",
            2977,
        ),
        (FormKind::Project, "工信系统相关专家核查经费", 3195),
        (FormKind::Project, "中央无线电管理经费", 3437),
        (
            FormKind::Project,
            "2024年度制造名城工业企业运行监测和服务平台工作经费",
            3655,
        ),
        (FormKind::Project, "安全生产委托技术服务经费", 3880),
        (
            FormKind::Project,
            "第五次经济普查工业企业生产经营状况调查服务经费",
            4097,
        ),
        (
            FormKind::Project,
            "2023年度产业链领航企业开展培育调研费354000元等部分结余指标",
            4312,
        ),
        (FormKind::Project, "“制造名城”走进西安活动经费", 4600),
    ];
    let expected: Vec<(FormKind, String, u32)> = expected
        .iter()
        .map(|(k, n, l)| (*k, n.to_string(), *l))
        .collect();
    assert_eq!(names(&forms), expected);
    assert!(forms.iter().all(|f| f.fiscal_year == 2024));
    // Indicator rows per form, counted by hand: 18 in the department form, then the projects.
    let rows: Vec<usize> = forms[1..].iter().map(|f| f.indicators.len()).collect();
    assert_eq!(
        rows,
        [18, 11, 11, 12, 11, 11, 12, 11, 12, 12, 12, 12, 11, 12, 11, 12, 11, 11, 18, 9]
    );
}

#[test]
fn every_form_of_yueyang_2023_is_found() {
    let forms = parse("yueyang-gxj-2023.txt");
    let expected = [
        (FormKind::Department, "岳阳市工业和信息化局", 75),
        (
            FormKind::Project,
            "新增规模以上工业企业培育及惠企纾困增效专项工作",
            332,
        ),
        (FormKind::Project, "非税征收成本及收入", 593),
        (FormKind::Project, "人才工作经费", 784),
        (
            FormKind::Project,
            "岳阳市九大重点产业链高质量发展赋能培训班",
            995,
        ),
        (FormKind::Project, "国企改制遗留经费", 1186),
        (FormKind::Project, "支持JMRH发展资金", 1408),
        (FormKind::Project, "帮扶解困资金", 1601),
        (FormKind::Project, "企业军转干部补助", 1794),
        (
            FormKind::Project,
            "未纳入公务员管理单位离休干部生活补贴",
            1986,
        ),
        (FormKind::Project, "一次性抚恤及遗属生活费", 2179),
        (FormKind::Project, "推动九大重点产业链发展项目", 2371),
        (FormKind::Project, "支持中小企业发展资金", 2582),
        (FormKind::Project, "省市部署专项行动", 2773),
        (FormKind::Project, "基础绩效奖和年度考核奖", 2995),
        (FormKind::Project, "中央补助资金无线电管理经费", 3198),
    ];
    let expected: Vec<(FormKind, String, u32)> = expected
        .iter()
        .map(|(k, n, l)| (*k, n.to_string(), *l))
        .collect();
    assert_eq!(names(&forms), expected);
    assert!(forms
        .iter()
        .all(|f| f.fiscal_year == 2023 && f.filer.name.len() > 1));
    let rows: Vec<usize> = forms.iter().map(|f| f.indicators.len()).collect();
    assert_eq!(
        rows,
        [16, 16, 9, 11, 9, 12, 9, 9, 9, 9, 9, 11, 9, 12, 10, 14]
    );
}

/// Forms whose every field was checked by hand against the text.
const GOLDEN: &[(&str, u32)] = &[
    ("zhuzhou-gxj-2024.txt", 2),
    ("zhuzhou-gxj-2024.txt", 231),
    ("zhuzhou-gxj-2024.txt", 509),
    ("zhuzhou-gxj-2024.txt", 1414),
    ("zhuzhou-gxj-2024.txt", 2299),
    ("zhuzhou-gxj-2024.txt", 4312),
    ("zhuzhou-gxj-2024.txt", 4600),
    ("yueyang-gxj-2023.txt", 75),
    ("yueyang-gxj-2023.txt", 593),
    ("yueyang-gxj-2023.txt", 995),
    ("yueyang-gxj-2023.txt", 2773),
    ("yueyang-gxj-2023.txt", 3198),
];

#[test]
fn golden_forms_match_field_by_field() {
    let dir = format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("JIXIAO_UPDATE_GOLDEN").is_some();
    for (file, line) in GOLDEN {
        let forms = parse(file);
        let form = forms.iter().find(|f| f.origin.first_line == *line).unwrap();
        let actual = serde_json::to_string_pretty(form).unwrap() + "\n";
        let path = format!("{dir}/{}-{line}.json", file.trim_end_matches(".txt"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(actual, golden, "{path} differs; if the change is right, regenerate with JIXIAO_UPDATE_GOLDEN=1 and check it by hand");
    }
}
