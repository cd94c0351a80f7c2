//! `--gc-report FILE`: one self-contained HTML page that pictures what the
//! collector did while a program ran. Inline SVG and CSS only: no script,
//! no font, image or style sheet fetched from anywhere, so the file opens
//! offline and renders the same in any browser.
//!
//! What it shows, from `gc::GcRecording` (see `gc/src/recording.rs`):
//! the heap over time with the goal and each cycle's live heap; a timeline
//! of the cycles' phases and of sweeping (background sweeper, lazy sweeping
//! by allocations, full sweeps); each cycle's pause split into its named
//! phases; spans swept per cycle by the background sweeper and lazily; a
//! pause histogram; and beside them the final `gcStats()` figures (the
//! same fields as `--gc-summary`). Phases are whatever the recording names
//! them, in its order: the report draws a list, not a fixed three.
//!
//! The page is XHTML-shaped (every element closed, text escaped), so a test
//! can check it is well formed without a browser. Numbers the test compares
//! sit in `data-` attributes.

use std::fmt::Write as _;

use gc::{CycleRecord, GcRecording, GcStats, SweepBy};

/// Everything the page shows.
pub struct ReportInput<'a> {
    /// The script's name as given on the command line.
    pub program: &'a str,
    pub recording: &'a GcRecording,
    pub stats: &'a GcStats,
    /// `gcStats()` totals in `--gc-summary`'s names and order.
    pub fields: &'a [(&'static str, u64)],
    pub finalizers_run: u64,
}

/// Writes to a `String`, which cannot fail.
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// Chart width in CSS pixels (the page lays the sidebar beside it).
const WIDTH: f64 = 940.0;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;

const HEAP_COLOUR: &str = "#4e79a7";
const GOAL_COLOUR: &str = "#f28e2b";
const LIVE_COLOUR: &str = "#2f7d32";
const PAUSE_COLOUR: &str = "#e15759";
const BG_COLOUR: &str = "#59a14f";
const LAZY_COLOUR: &str = "#edc948";
const FULL_COLOUR: &str = "#9c755f";
/// At most this many bars in a per-cycle chart: beyond it each bar stands
/// for several consecutive cycles (a long `--gc-stress` run has hundreds of
/// thousands), which keeps the page small and every bar visible.
const MAX_BARS: usize = 400;
/// Rows of the cycle table; later cycles are counted, not listed.
const TABLE_ROWS: usize = 1000;

/// Cycles per bar for `n` cycles.
fn cycles_per_bar(n: usize) -> usize {
    n.div_ceil(MAX_BARS).max(1)
}

/// Phase colours, in the order phase names first appear.
const PHASE_COLOURS: [&str; 6] = [
    "#76b7b2", "#e15759", "#b07aa1", "#f28e2b", "#4e79a7", "#9c755f",
];

/// The whole page.
pub fn render(input: &ReportInput<'_>) -> String {
    let r = input.recording;
    let phases = phase_names(&r.cycles);
    let mut out = String::with_capacity(256 * 1024);
    w!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <title>loam GC report: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
        esc(input.program),
        CSS
    );
    w!(
        out,
        "<header><h1>What the collector did: <code>{}</code></h1>\n<p class=\"summary\">{}</p></header>\n",
        esc(input.program),
        esc(&summary(input))
    );
    out.push_str("<div class=\"page\">\n<main>\n");
    section(
        &mut out,
        "Heap over time",
        "Bytes in allocated objects (heapAlloc), the goal that triggers the next cycle (nextGC), the live heap each cycle marked, and the pauses (red).",
        &heap_chart(r),
    );
    section(
        &mut out,
        "Timeline",
        "Each cycle's phases (solid: the program was stopped), and who swept when: the background sweeper, allocations sweeping lazily, and sweeps finished by a full collection.",
        &timeline(r, &phases),
    );
    section(
        &mut out,
        "Pause of each cycle",
        "Stop-the-world time per cycle, split into its phases.",
        &pause_chart(r, &phases),
    );
    section(
        &mut out,
        "Sweeping: background versus lazy",
        "Spans swept between one cycle and the next, by the background sweeper and by allocating code.",
        &sweep_chart(r),
    );
    section(
        &mut out,
        "Pause histogram",
        "How many cycles paused for how long (logarithmic bins).",
        &histogram(r),
    );
    cycle_table(&mut out, r);
    out.push_str("</main>\n");
    sidebar(&mut out, input);
    out.push_str("</div>\n</body>\n</html>\n");
    out
}

const CSS: &str = "\
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;margin:0;background:#fafafa}\
header{padding:14px 24px 4px}\
h1{font-size:20px;margin:0 0 4px}\
h2{font-size:16px;margin:0 0 2px}\
.summary{margin:0;color:#444}\
.page{display:flex;gap:20px;padding:8px 24px 24px;align-items:flex-start}\
main{flex:0 0 auto;width:940px}\
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 0 4px;margin-bottom:14px}\
section h2,section p{padding:0 12px}\
section p{margin:0 0 4px;color:#555;font-size:13px}\
aside{flex:0 0 300px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 12px}\
table{border-collapse:collapse;width:100%;font-size:13px}\
td,th{padding:2px 6px;text-align:right;border-bottom:1px solid #eee}\
td:first-child,th:first-child{text-align:left}\
code{font-size:13px}\
svg{display:block}\
svg text{font-size:11px;fill:#444}\
.legend text{font-size:12px}\
.axis{stroke:#999;stroke-width:1}\
.grid{stroke:#eee;stroke-width:1}\
details{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px}\
";

fn section(out: &mut String, title: &str, caption: &str, svg: &str) {
    w!(
        out,
        "<section>\n<h2>{}</h2>\n<p>{}</p>\n{}</section>\n",
        esc(title),
        esc(caption),
        svg
    );
}

/// Text for HTML and SVG content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Phase names in the order they first appear.
fn phase_names(cycles: &[CycleRecord]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in cycles.iter().flat_map(|c| &c.phases) {
        if !names.iter().any(|n| *n == p.name) {
            names.push(p.name.to_string());
        }
    }
    names
}

fn phase_colour(phases: &[String], name: &str) -> &'static str {
    let i = phases.iter().position(|n| n == name).unwrap_or(0);
    PHASE_COLOURS[i % PHASE_COLOURS.len()]
}

fn summary(input: &ReportInput<'_>) -> String {
    let r = input.recording;
    let s = input.stats;
    let run = r.end.0;
    let mut text = format!(
        "{} cycle{} in {} of run time; pauses {} in total ({:.1}% of the run), longest {}",
        s.num_gc,
        if s.num_gc == 1 { "" } else { "s" },
        duration(run),
        duration(s.pause_total_ns),
        percent(s.pause_total_ns, run),
        duration(s.max_pause_ns),
    );
    let swept = s.swept_background + s.swept_lazy;
    if swept > 0 {
        w!(
            text,
            "; {} spans swept, {:.1}% by the background sweeper",
            group(swept),
            percent(s.swept_background, swept)
        );
    }
    text.push('.');
    text
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Nanoseconds for a person: `820 ns`, `95.3 µs`, `9.44 ms`, `4.27 s`.
fn duration(ns: u64) -> String {
    let x = ns as f64;
    if ns == 0 {
        "0".to_string()
    } else if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{} µs", sig3(x / 1e3))
    } else if ns < 1_000_000_000 {
        format!("{} ms", sig3(x / 1e6))
    } else {
        format!("{} s", sig3(x / 1e9))
    }
}

/// Bytes for a person, in powers of 1024.
fn bytes(n: u64) -> String {
    let x = n as f64;
    if n == 0 {
        "0".to_string()
    } else if n < 1 << 10 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{} KiB", sig3(x / 1024.0))
    } else if n < 1 << 30 {
        format!("{} MiB", sig3(x / 1048576.0))
    } else {
        format!("{} GiB", sig3(x / 1073741824.0))
    }
}

/// Three significant digits, without trailing zeros.
fn sig3(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A step of 1, 2 or 5 times a power of ten giving about `count` ticks
/// over `[0, max]`.
fn nice_step(max: f64, count: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / count;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

/// A tick step for bytes: 1, 2 or 5 times a power of ten in the unit
/// [`bytes`] shows (KiB, MiB, GiB), so the labels are round numbers.
fn byte_step(max: f64) -> f64 {
    let unit = if max >= 2.0 * 1073741824.0 {
        1073741824.0
    } else if max >= 2.0 * 1048576.0 {
        1048576.0
    } else if max >= 2048.0 {
        1024.0
    } else {
        1.0
    };
    nice_step(max / unit, 5.0).max(1.0) * unit
}

/// The plot area of one chart and its scales.
struct Plot {
    height: f64,
    /// Data range on x, in the chart's unit (ns for time charts).
    x_max: f64,
    y_max: f64,
}

impl Plot {
    fn inner_w(&self) -> f64 {
        WIDTH - LEFT - RIGHT
    }
    fn inner_h(&self) -> f64 {
        self.height - TOP - BOTTOM
    }
    fn x(&self, v: f64) -> f64 {
        LEFT + if self.x_max > 0.0 {
            v / self.x_max * self.inner_w()
        } else {
            0.0
        }
    }
    fn y(&self, v: f64) -> f64 {
        TOP + self.inner_h()
            - if self.y_max > 0.0 {
                v / self.y_max * self.inner_h()
            } else {
                0.0
            }
    }
    fn bottom(&self) -> f64 {
        TOP + self.inner_h()
    }

    fn open(&self, out: &mut String, id: &str, label: &str) {
        w!(
            out,
            "<svg id=\"{id}\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\" role=\"img\" aria-label=\"{}\">\n",
            esc(label),
            h = self.height
        );
    }

    /// Horizontal grid lines and y labels, every `step`.
    fn y_axis(&self, out: &mut String, step: f64, label: impl Fn(f64) -> String) {
        let mut v = 0.0;
        while v <= self.y_max * 1.0001 {
            let y = self.y(v);
            w!(
                out,
                "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" />\n\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                esc(&label(v))
            );
            v += step;
        }
    }

    /// A time axis along the bottom (x in ns).
    fn time_axis(&self, out: &mut String) {
        let b = self.bottom();
        w!(
            out,
            "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{:.1}\" y2=\"{b:.1}\" />\n",
            WIDTH - RIGHT
        );
        let step = nice_step(self.x_max, 8.0);
        let mut v = 0.0;
        while v <= self.x_max * 1.0001 {
            let x = self.x(v);
            w!(
                out,
                "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{b:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" />\n\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                b + 4.0,
                b + 16.0,
                esc(&duration(v as u64))
            );
            v += step;
        }
        w!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">time since start</text>\n",
            WIDTH - RIGHT,
            b + 30.0
        );
    }
}

/// A legend row at the top right: (colour, text, dashed).
fn legend(out: &mut String, items: &[(&str, &str, bool)]) {
    let mut x = WIDTH - RIGHT;
    out.push_str("<g class=\"legend\">\n");
    for (colour, text, dashed) in items.iter().rev() {
        let tw = text.chars().count() as f64 * 6.4;
        x -= tw;
        w!(out, "<text x=\"{x:.1}\" y=\"12\">{}</text>\n", esc(text));
        x -= 22.0;
        let dash = if *dashed {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        w!(
            out,
            "<line x1=\"{x:.1}\" y1=\"8\" x2=\"{:.1}\" y2=\"8\" stroke=\"{colour}\" stroke-width=\"3\"{dash} />\n",
            x + 16.0
        );
        x -= 14.0;
    }
    out.push_str("</g>\n");
}

fn no_data(out: &mut String, plot: &Plot, what: &str) {
    w!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
        WIDTH / 2.0,
        TOP + plot.inner_h() / 2.0,
        esc(what)
    );
}

fn heap_chart(r: &GcRecording) -> String {
    let mut out = String::new();
    let y_max = r
        .heap
        .iter()
        .map(|s| s.heap_alloc.max(s.next_gc.unwrap_or(0)))
        .chain(r.cycles.iter().map(|c| c.heap_start))
        .max()
        .unwrap_or(0) as f64
        * 1.08;
    let plot = Plot {
        height: 300.0,
        x_max: r.end.0 as f64,
        y_max,
    };
    plot.open(&mut out, "heap-chart", "heap size over time");
    if r.heap.is_empty() {
        no_data(&mut out, &plot, "no heap samples were recorded");
        out.push_str("</svg>\n");
        return out;
    }
    plot.y_axis(&mut out, byte_step(y_max), |v| bytes(v as u64));
    // Pauses behind the curves.
    out.push_str("<g id=\"heap-pauses\">\n");
    let bands = r
        .cycles
        .iter()
        .map(|c| {
            let x0 = plot.x(c.start().0 as f64);
            (x0, plot.x(c.end().0 as f64).max(x0 + 1.0))
        })
        .collect();
    for (x0, x1) in coalesce(bands) {
        w!(
            out,
            "<rect class=\"pause-band\" x=\"{x0:.2}\" y=\"{TOP}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{PAUSE_COLOUR}\" fill-opacity=\"0.25\" />\n",
            x1 - x0,
            plot.inner_h()
        );
    }
    out.push_str("</g>\n");
    // heapAlloc as a filled area.
    let mut points = String::new();
    for s in &r.heap {
        w!(
            points,
            "{:.1},{:.1} ",
            plot.x(s.at.0 as f64),
            plot.y(s.heap_alloc as f64)
        );
    }
    let first_x = plot.x(r.heap.first().map_or(0, |s| s.at.0) as f64);
    let last_x = plot.x(r.heap.last().map_or(0, |s| s.at.0) as f64);
    let b = plot.bottom();
    w!(
        out,
        "<polygon id=\"heap-area\" points=\"{first_x:.1},{b:.1} {points}{last_x:.1},{b:.1}\" fill=\"{HEAP_COLOUR}\" fill-opacity=\"0.18\" stroke=\"none\" />\n\
         <polyline id=\"heap-curve\" points=\"{points}\" fill=\"none\" stroke=\"{HEAP_COLOUR}\" stroke-width=\"1.5\" />\n"
    );
    // The goal as a step line; gaps while automatic collection is off.
    out.push_str("<g id=\"goal\">\n");
    let mut run = String::new();
    let mut last: Option<(f64, f64)> = None;
    let flush = |out: &mut String, run: &mut String| {
        if !run.is_empty() {
            w!(
                out,
                "<polyline points=\"{run}\" fill=\"none\" stroke=\"{GOAL_COLOUR}\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\" />\n"
            );
            run.clear();
        }
    };
    for s in &r.heap {
        let x = plot.x(s.at.0 as f64);
        match s.next_gc {
            Some(goal) => {
                let y = plot.y(goal as f64);
                if let Some((_, ly)) = last {
                    w!(run, "{x:.1},{ly:.1} ");
                }
                w!(run, "{x:.1},{y:.1} ");
                last = Some((x, y));
            }
            None => {
                flush(&mut out, &mut run);
                last = None;
            }
        }
    }
    if let Some((_, ly)) = last {
        w!(run, "{:.1},{ly:.1} ", plot.x(r.end.0 as f64));
    }
    flush(&mut out, &mut run);
    out.push_str("</g>\n");
    // What each cycle found live.
    out.push_str("<g id=\"live\">\n");
    let per = cycles_per_bar(r.cycles.len());
    for c in r.cycles.iter().skip(per - 1).step_by(per) {
        w!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{LIVE_COLOUR}\" />\n",
            plot.x(c.end().0 as f64),
            plot.y(c.live as f64)
        );
    }
    out.push_str("</g>\n");
    plot.time_axis(&mut out);
    legend(
        &mut out,
        &[
            (HEAP_COLOUR, "heapAlloc", false),
            (GOAL_COLOUR, "goal (nextGC)", true),
            (LIVE_COLOUR, "live after mark", false),
            (PAUSE_COLOUR, "pause", false),
        ],
    );
    out.push_str("</svg>\n");
    out
}

/// Merges intervals (in pixels) closer than half a pixel, so thousands of
/// short sweeps draw as a few rectangles.
fn coalesce(mut spans: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 + 0.5 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// One cycle's phases as rectangles in a lane (solid when stop-the-world).
fn phase_rects(out: &mut String, plot: &Plot, c: &CycleRecord, phases: &[String], y: f64, h: f64) {
    for p in &c.phases {
        let x0 = plot.x(p.start.0 as f64);
        let x1 = plot.x(p.end.0 as f64).max(x0 + 1.0);
        let opacity = if p.stop_the_world { "1" } else { "0.45" };
        w!(
            out,
            "<rect x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{h:.1}\" fill=\"{}\" fill-opacity=\"{opacity}\"><title>gc {} {}: {}</title></rect>\n",
            x1 - x0,
            phase_colour(phases, &p.name),
            c.num_gc,
            esc(&p.name),
            esc(&duration(p.duration_ns()))
        );
    }
}

fn timeline(r: &GcRecording, phases: &[String]) -> String {
    let mut out = String::new();
    let lanes = ["GC phases", "background", "lazy sweep", "full sweep"];
    let lane_h = 26.0;
    let plot = Plot {
        height: TOP + lanes.len() as f64 * lane_h + BOTTOM + 8.0,
        x_max: r.end.0 as f64,
        y_max: 1.0,
    };
    plot.open(&mut out, "timeline", "timeline of phases and sweeping");
    for (i, name) in lanes.iter().enumerate() {
        let y = TOP + 6.0 + i as f64 * lane_h;
        w!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f4f4f4\" />\n",
            LEFT - 6.0,
            y + lane_h / 2.0,
            esc(name),
            plot.inner_w(),
            lane_h - 6.0
        );
    }
    let lane_y = |i: usize| TOP + 6.0 + i as f64 * lane_h;
    out.push_str("<g id=\"timeline-phases\">\n");
    if cycles_per_bar(r.cycles.len()) > 1 {
        // Too many to draw one by one: each phase's stretches, merged.
        for name in phases {
            let spans = r
                .cycles
                .iter()
                .flat_map(|c| &c.phases)
                .filter(|p| p.name == name.as_str())
                .map(|p| (plot.x(p.start.0 as f64), plot.x(p.end.0 as f64)))
                .collect();
            for (x0, x1) in coalesce(spans) {
                w!(
                    out,
                    "<rect x=\"{x0:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{}\" />\n",
                    lane_y(0),
                    (x1 - x0).max(1.0),
                    lane_h - 6.0,
                    phase_colour(phases, name)
                );
            }
        }
    } else {
        for c in &r.cycles {
            phase_rects(&mut out, &plot, c, phases, lane_y(0), lane_h - 6.0);
        }
    }
    out.push_str("</g>\n");
    for (lane, by, colour, id) in [
        (1, SweepBy::Background, BG_COLOUR, "timeline-bg"),
        (2, SweepBy::Lazy, LAZY_COLOUR, "timeline-lazy"),
        (3, SweepBy::Full, FULL_COLOUR, "timeline-full"),
    ] {
        let spans = r
            .sweeps
            .iter()
            .filter(|s| s.by == by)
            .map(|s| (plot.x(s.start.0 as f64), plot.x(s.end.0 as f64)))
            .collect();
        w!(out, "<g id=\"{id}\">\n");
        for (x0, x1) in coalesce(spans) {
            w!(
                out,
                "<rect x=\"{x0:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{colour}\" />\n",
                lane_y(lane),
                (x1 - x0).max(1.0),
                lane_h - 6.0
            );
        }
        out.push_str("</g>\n");
    }
    plot.time_axis(&mut out);
    out.push_str("</svg>\n");
    out
}

/// Bars over cycles: one slot per cycle, left to right.
fn bar_slot(plot: &Plot, i: usize, n: usize) -> (f64, f64) {
    let slot = plot.inner_w() / n.max(1) as f64;
    let gap = if slot > 4.0 { slot * 0.2 } else { 0.0 };
    (LEFT + i as f64 * slot + gap / 2.0, (slot - gap).max(0.5))
}

/// The bar of cycles `first..first + len` (0-based) of `n`.
fn cycle_slot(plot: &Plot, first: usize, len: usize, n: usize) -> (f64, f64) {
    let per_cycle = plot.inner_w() / n.max(1) as f64;
    let slot = per_cycle * len as f64;
    let gap = if slot > 4.0 { slot * 0.2 } else { 0.0 };
    (
        LEFT + first as f64 * per_cycle + gap / 2.0,
        (slot - gap).max(0.5),
    )
}

/// Says what a bar stands for when it is more than one cycle.
fn bar_note(out: &mut String, text: &str) {
    w!(out, "<text x=\"{LEFT}\" y=\"12\">{}</text>\n", esc(text));
}

fn cycle_axis(out: &mut String, plot: &Plot, n: usize) {
    let b = plot.bottom();
    w!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{:.1}\" y2=\"{b:.1}\" />\n",
        WIDTH - RIGHT
    );
    let step = nice_step(n as f64, 10.0).max(1.0) as usize;
    let mut k = step;
    while k <= n {
        // The middle of cycle k's place (of its bar when one bar is one
        // cycle).
        let x = LEFT + (k as f64 - 0.5) * plot.inner_w() / n as f64;
        w!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{k}</text>\n",
            b + 16.0
        );
        k += step;
    }
    w!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">cycle</text>\n",
        WIDTH - RIGHT,
        b + 30.0
    );
}

fn pause_chart(r: &GcRecording, phases: &[String]) -> String {
    let mut out = String::new();
    let n = r.cycles.len();
    let y_max = r
        .cycles
        .iter()
        .map(CycleRecord::pause_ns)
        .max()
        .unwrap_or(0) as f64
        * 1.1;
    let plot = Plot {
        height: 240.0,
        x_max: n as f64,
        y_max,
    };
    plot.open(&mut out, "pause-chart", "pause of each cycle by phase");
    if n == 0 {
        no_data(&mut out, &plot, "no collection ran");
        out.push_str("</svg>\n");
        return out;
    }
    plot.y_axis(&mut out, nice_step(y_max, 5.0), |v| duration(v as u64));
    let per = cycles_per_bar(n);
    if per > 1 {
        bar_note(
            &mut out,
            &format!("each bar: the longest pause of {per} cycles"),
        );
    }
    out.push_str("<g id=\"pauses\">\n");
    for (i, bucket) in r.cycles.chunks(per).enumerate() {
        let (x, width) = cycle_slot(&plot, i * per, bucket.len(), n);
        let Some(c) = bucket.iter().max_by_key(|c| c.pause_ns()) else {
            continue;
        };
        if per == 1 {
            w!(
                out,
                "<g class=\"pause\" data-cycle=\"{}\" data-pause-ns=\"{}\">",
                c.num_gc,
                c.pause_ns()
            );
        } else {
            w!(
                out,
                "<g class=\"pauses\" data-first=\"{}\" data-last=\"{}\" data-max-pause-ns=\"{}\">",
                bucket.first().map_or(0, |c| c.num_gc),
                bucket.last().map_or(0, |c| c.num_gc),
                c.pause_ns()
            );
        }
        let mut base = 0.0;
        for p in c.phases.iter().filter(|p| p.stop_the_world) {
            let d = p.duration_ns() as f64;
            let (y0, y1) = (plot.y(base + d), plot.y(base));
            w!(
                out,
                "<rect x=\"{x:.2}\" y=\"{y0:.2}\" width=\"{width:.2}\" height=\"{:.2}\" fill=\"{}\"><title>gc {} {}: {}</title></rect>",
                (y1 - y0).max(0.0),
                phase_colour(phases, &p.name),
                c.num_gc,
                esc(&p.name),
                esc(&duration(p.duration_ns()))
            );
            base += d;
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
    cycle_axis(&mut out, &plot, n);
    let items: Vec<(&str, &str, bool)> = phases
        .iter()
        .map(|p| (phase_colour(phases, p), p.as_str(), false))
        .collect();
    legend(&mut out, &items);
    out.push_str("</svg>\n");
    out
}

fn sweep_chart(r: &GcRecording) -> String {
    let mut out = String::new();
    let n = r.cycles.len();
    let per = cycles_per_bar(n);
    let swept = |bucket: &[CycleRecord]| {
        bucket.iter().fold((0, 0), |(bg, lazy), c| {
            (bg + c.swept_background, lazy + c.swept_lazy)
        })
    };
    let y_max = r
        .cycles
        .chunks(per)
        .map(|b| {
            let (bg, lazy) = swept(b);
            bg + lazy
        })
        .max()
        .unwrap_or(0) as f64
        * 1.1;
    let plot = Plot {
        height: 220.0,
        x_max: n as f64,
        y_max,
    };
    plot.open(&mut out, "sweep-chart", "spans swept per cycle");
    if n == 0 || y_max == 0.0 {
        no_data(&mut out, &plot, "nothing was swept between cycles");
        out.push_str("</svg>\n");
        return out;
    }
    plot.y_axis(&mut out, nice_step(y_max, 5.0), |v| group(v as u64));
    if per > 1 {
        bar_note(&mut out, &format!("each bar: {per} cycles"));
    }
    out.push_str("<g id=\"sweeps\">\n");
    for (i, bucket) in r.cycles.chunks(per).enumerate() {
        let (x, width) = cycle_slot(&plot, i * per, bucket.len(), n);
        let (bg_spans, lazy_spans) = swept(bucket);
        let (bg, lazy) = (bg_spans as f64, lazy_spans as f64);
        w!(
            out,
            "<g data-cycle=\"{}\" data-background=\"{bg_spans}\" data-lazy=\"{lazy_spans}\">\
             <rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{width:.2}\" height=\"{:.2}\" fill=\"{BG_COLOUR}\" />\
             <rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{width:.2}\" height=\"{:.2}\" fill=\"{LAZY_COLOUR}\" /></g>\n",
            bucket.first().map_or(0, |c| c.num_gc),
            plot.y(bg),
            plot.bottom() - plot.y(bg),
            plot.y(bg + lazy),
            plot.y(bg) - plot.y(bg + lazy),
        );
    }
    out.push_str("</g>\n");
    cycle_axis(&mut out, &plot, n);
    legend(
        &mut out,
        &[
            (BG_COLOUR, "background sweeper", false),
            (LAZY_COLOUR, "lazy (allocations)", false),
        ],
    );
    out.push_str("</svg>\n");
    out
}

/// Bin `k` holds pauses in `[2^(k/2), 2^((k+1)/2))` ns.
fn bin_of(ns: u64) -> usize {
    ((ns.max(1) as f64).log2() * 2.0).floor() as usize
}

fn bin_floor(k: usize) -> u64 {
    2f64.powf(k as f64 / 2.0).ceil() as u64
}

fn histogram(r: &GcRecording) -> String {
    let mut out = String::new();
    let pauses: Vec<u64> = r.cycles.iter().map(CycleRecord::pause_ns).collect();
    let (Some(&lo), Some(&hi)) = (pauses.iter().min(), pauses.iter().max()) else {
        let plot = Plot {
            height: 120.0,
            x_max: 1.0,
            y_max: 1.0,
        };
        plot.open(&mut out, "pause-histogram", "pause histogram");
        no_data(&mut out, &plot, "no collection ran");
        out.push_str("</svg>\n");
        return out;
    };
    let (first, last) = (bin_of(lo), bin_of(hi));
    let mut counts = vec![0u64; last - first + 1];
    for &p in &pauses {
        counts[bin_of(p) - first] += 1;
    }
    let y_max = counts.iter().copied().max().unwrap_or(0) as f64 * 1.15;
    let plot = Plot {
        height: 220.0,
        x_max: counts.len() as f64,
        y_max,
    };
    plot.open(&mut out, "pause-histogram", "pause histogram");
    plot.y_axis(&mut out, nice_step(y_max, 5.0).max(1.0), |v| {
        format!("{}", v as u64)
    });
    let n = counts.len();
    out.push_str("<g id=\"histogram-bars\">\n");
    for (i, &count) in counts.iter().enumerate() {
        let (x, width) = bar_slot(&plot, i, n);
        let y = plot.y(count as f64);
        w!(
            out,
            "<rect class=\"bin\" data-count=\"{count}\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{width:.2}\" height=\"{:.2}\" fill=\"{PAUSE_COLOUR}\"><title>{} to {}: {count}</title></rect>\n",
            plot.bottom() - y,
            esc(&duration(bin_floor(first + i))),
            esc(&duration(bin_floor(first + i + 1)))
        );
        if count > 0 {
            w!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{count}</text>\n",
                x + width / 2.0,
                y - 3.0
            );
        }
    }
    out.push_str("</g>\n");
    let b = plot.bottom();
    w!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{:.1}\" y2=\"{b:.1}\" />\n",
        WIDTH - RIGHT
    );
    // Bin edges as labels, thinned to fit.
    let every = (n / 10).max(1);
    for i in (0..=n).step_by(every) {
        let x = LEFT + i as f64 * plot.inner_w() / n as f64;
        let anchor = if i == n { "end" } else { "middle" };
        w!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>\n",
            b + 16.0,
            esc(&duration(bin_floor(first + i)))
        );
    }
    w!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">pause</text>\n",
        WIDTH - RIGHT,
        b + 30.0
    );
    out.push_str("</svg>\n");
    out
}

fn cycle_table(out: &mut String, r: &GcRecording) {
    w!(
        out,
        "<details id=\"cycles\" data-cycles=\"{}\">\n<summary>Every cycle ({})</summary>\n<table>\n\
         <tr><th>gc</th><th>at</th><th>heap</th><th>live</th><th>goal</th><th>phases</th><th>pause</th><th>swept bg + lazy</th></tr>\n",
        r.cycles.len(),
        r.cycles.len()
    );
    for c in r.cycles.iter().take(TABLE_ROWS) {
        let phases: Vec<String> = c
            .phases
            .iter()
            .map(|p| format!("{} {}", p.name, duration(p.duration_ns())))
            .collect();
        let goal = if c.goal_after == u64::MAX {
            "off".to_string()
        } else {
            bytes(c.goal_after)
        };
        w!(
            out,
            "<tr data-pause-ns=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} + {}</td></tr>\n",
            c.pause_ns(),
            c.num_gc,
            esc(&duration(c.start().0)),
            esc(&bytes(c.heap_start)),
            esc(&bytes(c.live)),
            esc(&goal),
            esc(&phases.join(", ")),
            esc(&duration(c.pause_ns())),
            c.swept_background,
            c.swept_lazy
        );
    }
    if r.cycles.len() > TABLE_ROWS {
        w!(
            out,
            "<tr><td colspan=\"8\">and {} more cycles</td></tr>\n",
            group((r.cycles.len() - TABLE_ROWS) as u64)
        );
    }
    out.push_str("</table>\n</details>\n");
}

fn sidebar(out: &mut String, input: &ReportInput<'_>) {
    let s = input.stats;
    out.push_str("<aside>\n<h2>gcStats() at exit</h2>\n<table id=\"stats\">\n");
    for &(name, value) in input.fields {
        let shown = match name {
            "next_gc" if value == u64::MAX => "off".to_string(),
            n if n.ends_with("_ns") => duration(value),
            "heap_alloc" | "heap_sys" | "next_gc" | "last_live" => bytes(value),
            _ => group(value),
        };
        w!(
            out,
            "<tr><td>{name}</td><td data-stat=\"{name}\" data-value=\"{value}\">{}</td></tr>\n",
            esc(&shown)
        );
    }
    w!(
        out,
        "<tr><td>finalizers_run</td><td data-stat=\"finalizers_run\" data-value=\"{0}\">{1}</td></tr>\n",
        input.finalizers_run,
        group(input.finalizers_run)
    );
    out.push_str("</table>\n");
    let run = input.recording.end.0;
    w!(
        out,
        "<h2>Derived</h2>\n<table id=\"derived\">\n\
         <tr><td>run time</td><td>{}</td></tr>\n\
         <tr><td>time paused</td><td>{:.1}%</td></tr>\n\
         <tr><td>mean pause</td><td>{}</td></tr>\n\
         <tr><td>swept in background</td><td>{:.1}%</td></tr>\n\
         </table>\n",
        esc(&duration(run)),
        percent(s.pause_total_ns, run),
        esc(&duration(
            s.pause_total_ns.checked_div(s.num_gc).unwrap_or(0)
        )),
        percent(s.swept_background, s.swept_background + s.swept_lazy),
    );
    out.push_str(
        "<p>Times are wall-clock on this machine; a pause is the time the program \
         was stopped for a cycle's stop-the-world phases.</p>\n</aside>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(duration(820), "820 ns");
        assert_eq!(duration(95_300), "95.3 µs");
        assert_eq!(duration(9_437_183), "9.44 ms");
        assert_eq!(duration(4_000_000_000), "4 s");
        assert_eq!(bytes(46_149_288), "44 MiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
    }

    #[test]
    fn ticks_and_bins() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 8.0), 1.0);
        assert_eq!(nice_step(0.0, 8.0), 1.0);
        assert_eq!(byte_step(60.0 * 1048576.0), 20.0 * 1048576.0);
        assert_eq!(byte_step(3000.0), 1024.0);
        assert_eq!(bin_of(1), 0);
        assert_eq!(bin_of(1024), 20);
        assert_eq!(bin_of(1500), 21);
        assert!(bin_floor(21) <= 1500 && 1500 < bin_floor(22));
    }

    #[test]
    fn coalescing_merges_what_touches() {
        assert_eq!(
            coalesce(vec![(5.0, 6.0), (0.0, 1.0), (1.2, 2.0), (9.0, 9.1)]),
            vec![(0.0, 2.0), (5.0, 6.0), (9.0, 9.1)]
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(esc("x\u{1}"), "x\u{fffd}");
    }

    fn cycles(n: u64) -> GcRecording {
        let t = gc::TraceTime;
        let phase = |name: &'static str, s, e| gc::PhaseRecord {
            name: name.into(),
            start: t(s),
            end: t(e),
            stop_the_world: true,
        };
        GcRecording {
            cycles: (1..=n)
                .map(|k| CycleRecord {
                    num_gc: k,
                    phases: vec![
                        phase("sweep termination", k * 1000, k * 1000 + 10),
                        phase("mark", k * 1000 + 10, k * 1000 + 10 + k % 7 * 50),
                    ],
                    heap_start: 8 << 20,
                    heap_after_sweep: 8 << 20,
                    live: 2 << 20,
                    goal_before: 8 << 20,
                    goal_after: 8 << 20,
                    spans: 10,
                    swept_background: 3,
                    swept_lazy: 1,
                    finalizers_queued: 0,
                })
                .collect(),
            heap: Vec::new(),
            sweeps: Vec::new(),
            end: t(n * 1000 + 5000),
        }
    }

    #[test]
    fn many_cycles_are_drawn_in_columns() {
        let n = 100_000;
        let r = cycles(n);
        let stats = GcStats {
            num_gc: n,
            ..GcStats::default()
        };
        let html = render(&ReportInput {
            program: "stress.lox",
            recording: &r,
            stats: &stats,
            fields: &[("num_gc", n)],
            finalizers_run: 0,
        });
        // One bar per 250 cycles; sweeps summed per bar.
        assert_eq!(html.matches("<g class=\"pauses\"").count(), MAX_BARS);
        assert!(!html.contains("<g class=\"pause\""));
        assert!(html.contains("each bar: the longest pause of 250 cycles"));
        assert!(html.contains("data-background=\"750\" data-lazy=\"250\""));
        assert!(html.contains("and 99,000 more cycles"));
        assert_eq!(html.matches("<tr data-pause-ns=").count(), TABLE_ROWS);
        // Small enough to open: a few hundred bytes per column, not per cycle.
        assert!(html.len() < 1 << 20, "{} bytes", html.len());
    }

    #[test]
    fn an_empty_recording_still_renders() {
        let r = GcRecording::default();
        let stats = GcStats::default();
        let html = render(&ReportInput {
            program: "<hello>.lox",
            recording: &r,
            stats: &stats,
            fields: &[("num_gc", 0)],
            finalizers_run: 0,
        });
        assert!(html.contains("no collection ran"));
        assert!(html.contains("&lt;hello&gt;.lox"));
        assert!(html.ends_with("</html>\n"));
    }
}
