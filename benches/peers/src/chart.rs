//! The chart of BENCHMARKS.md: every peer's figure relative to the bare
//! socket on the same workload, grouped by workload (SVG, plotters).

use std::path::Path;

use plotters::prelude::*;

use crate::report::median;
use crate::workload::Workload;
use crate::{Peer, Results};

const COLORS: [RGBColor; 9] = [
    RGBColor(120, 120, 120), // bare socket
    RGBColor(190, 190, 190), // bare socket, one thread
    RGBColor(214, 39, 40),   // memcrab Client
    RGBColor(255, 127, 14),  // memcrab pool
    RGBColor(148, 21, 21),   // memcrab engine
    RGBColor(31, 119, 180),  // pymemcache
    RGBColor(44, 160, 44),   // memcache crate
    RGBColor(148, 103, 189), // async-memcached
    RGBColor(23, 190, 207),  // memcaslap
];

/// The bare socket's figure a workload is measured against (the merged
/// gets: the bare socket's pipelined single gets at depth 128).
fn baseline(results: &Results, w: Workload) -> Option<f64> {
    let (bw, use_keys) = match w {
        Workload::Merged => (Workload::Pipelined(128), false),
        w => (w, w.per_key()),
    };
    median(results, bw, Peer::Bare).map(|s| if use_keys { s.keys } else { s.ops })
}

fn short(w: Workload) -> String {
    match w {
        Workload::Get => "get".into(),
        Workload::Set => "set".into(),
        Workload::SetNoreply => "set noreply".into(),
        Workload::GetMany(n) => format!("get_many({n})"),
        Workload::Mixed(n) => format!("9:1 c{n}"),
        Workload::Pipelined(d) => format!("pipe d{d}"),
        Workload::InFlight(n) => format!("256 in flight c{n}"),
        Workload::Merged => "merged gets".into(),
        Workload::Callers(n) => format!("{n} callers"),
    }
}

pub fn draw(results: &Results, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // The many-caller workload has its own table (report.rs), not bars.
    let mut workloads: Vec<Workload> = results
        .keys()
        .map(|(w, _)| *w)
        .filter(|w| !w.is_callers())
        .collect();
    workloads.dedup();
    let peers: Vec<Peer> = Peer::ALL
        .into_iter()
        .filter(|p| results.keys().any(|(_, q)| q == p))
        .collect();
    let mut bars = Vec::new(); // (group, slot, peer index, ratio)
    let mut ymax: f64 = 1.2;
    for (g, &w) in workloads.iter().enumerate() {
        let Some(base) = baseline(results, w) else {
            continue;
        };
        let present: Vec<(usize, Peer)> = peers
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, p)| results.contains_key(&(w, *p)))
            .collect();
        for (slot, (pi, p)) in present.iter().enumerate() {
            let figure = median(results, w, *p).map(|s| s.figure(w)).unwrap_or(0.0);
            let r = figure / base;
            ymax = ymax.max(r);
            bars.push((g, slot, present.len(), *pi, r));
        }
    }
    // Ratios far apart (merged gets reach ~10×): a log axis keeps the
    // small bars readable.
    let root = SVGBackend::new(path, (1200, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "memcrab and its peers, one run: throughput ÷ bare socket on the same workload",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            0f64..workloads.len() as f64,
            (0.05f64..ymax * 1.3).log_scale(),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(workloads.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.01 && i < workloads.len() {
                short(workloads[i])
            } else {
                String::new()
            }
        })
        .y_labels(12)
        .y_desc("× bare socket (log scale)")
        .y_label_formatter(&|y| format!("{y:.2}"))
        .draw()?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 1.0), (workloads.len() as f64, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    for (pi, p) in peers.iter().enumerate() {
        let color = Peer::ALL
            .iter()
            .position(|q| q == p)
            .and_then(|i| COLORS.get(i))
            .copied()
            .unwrap_or(COLORS[0]);
        let mine: Vec<_> = bars.iter().filter(|b| b.3 == pi).collect();
        chart
            .draw_series(mine.iter().map(|&&(g, slot, n, _, r)| {
                let width = 0.8 / n as f64;
                let x0 = g as f64 + 0.1 + slot as f64 * width;
                Rectangle::new(
                    [(x0, 0.05), (x0 + width * 0.9, r.max(0.05))],
                    color.filled(),
                )
            }))?
            .label(p.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
