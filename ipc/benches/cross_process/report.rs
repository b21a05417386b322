//! The table and the SVG plot of the cross-process benchmark.

use std::fmt::Write as _;

/// One row of the table: nanoseconds per operation for each contender.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) raw: Option<f64>,
    pub(crate) ipc: f64,
    pub(crate) spin: Option<f64>,
    pub(crate) python: Option<f64>,
    pub(crate) note: String,
}

pub(crate) fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

pub(crate) fn print_table(rows: &[Row]) {
    println!(
        "\n{:<44} {:>11} {:>11} {:>11} {:>11} {:>8} {:>10}  note",
        "benchmark (time per operation)",
        "raw libc",
        "ipc",
        "ipc+spin",
        "posix_ipc",
        "ipc/raw",
        "py/ipc",
    );
    for r in rows {
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), fmt_ns);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.3}", a / b),
            _ => "-".to_owned(),
        };
        println!(
            "{:<44} {:>11} {:>11} {:>11} {:>11} {:>8} {:>10}  {}",
            r.name,
            opt(r.raw),
            fmt_ns(r.ipc),
            opt(r.spin),
            opt(r.python),
            ratio(Some(r.ipc), r.raw),
            ratio(r.python, Some(r.ipc)),
            r.note
        );
    }
}

/// A horizontal bar chart, log scale, of ns per operation.
pub(crate) fn svg(rows: &[Row]) -> String {
    let (left, width, bar, gap) = (330.0, 560.0, 9.0, 12.0);
    let series: [(&str, &str); 4] = [
        ("raw libc", "#7f8c8d"),
        ("ipc", "#2e86de"),
        ("ipc+spin", "#10ac84"),
        ("posix_ipc", "#e67e22"),
    ];
    let values = |r: &Row| [r.raw, Some(r.ipc), r.spin, r.python];
    let (lo, hi) = rows
        .iter()
        .flat_map(|r| values(r).into_iter().flatten())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = (
        (lo.max(1.0) / 2.0).log10().floor(),
        (hi * 2.0).log10().ceil(),
    );
    let x = |v: f64| left + (v.max(1.0).log10() - lo) / (hi - lo) * width;
    let row_h = 4.0 * bar + gap;
    let height = 60.0 + rows.len() as f64 * row_h + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="11">
<text x="10" y="18" font-size="14">Time per operation, log scale (lower is better): ipc, raw libc, posix_ipc</text>
"#,
        w = left + width + 40.0
    );
    for (i, (name, color)) in series.iter().enumerate() {
        let _ = write!(
            s,
            r#"<rect x="{}" y="28" width="10" height="10" fill="{color}"/><text x="{}" y="37">{name}</text>"#,
            10.0 + i as f64 * 110.0,
            24.0 + i as f64 * 110.0
        );
    }
    let mut decade = lo;
    while decade <= hi {
        let xv = x(10f64.powf(decade));
        let _ = write!(
            s,
            r##"<line x1="{xv}" y1="50" x2="{xv}" y2="{}" stroke="#ddd"/><text x="{xv}" y="{}" text-anchor="middle">{}</text>"##,
            height - 30.0,
            height - 16.0,
            fmt_ns(10f64.powf(decade))
        );
        decade += 1.0;
    }
    for (i, r) in rows.iter().enumerate() {
        let y0 = 56.0 + i as f64 * row_h;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y0 + 2.0 * bar + 4.0,
            r.name.replace('&', "&amp;").replace('<', "&lt;")
        );
        for (j, v) in values(r).into_iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    r#"<rect x="{left}" y="{}" width="{:.1}" height="{}" fill="{}"><title>{}: {}</title></rect>"#,
                    y0 + j as f64 * bar,
                    (x(v) - left).max(1.0),
                    bar - 1.0,
                    series[j].1,
                    series[j].0,
                    fmt_ns(v)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
