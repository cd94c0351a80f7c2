//! `--gc-report FILE`: the real binary writes one self-contained HTML page.
//! Checked without a browser: the page is well formed (every element
//! closed, in order), fetches nothing and runs no script, has each chart,
//! and its numbers agree with `--gc-summary` from the same run (one pause
//! per cycle, pauses summing to `pause_total_ns` exactly, the stats table).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{loam_bin, run_command, RunOutput};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("loam-gcreport-{}-{name}", std::process::id()))
}

/// Garbage enough for several cycles, some of it kept, then `gc()` (a full
/// collection, which finishes its sweep on the spot).
const CHURN: &str = "\
var keep = [];
var n = 0;
for (var i = 0; i < 300000; i = i + 1) {
  var t = [i, i, i];
  n = n + 1;
  if (n == 1000) { keep.push(t); n = 0; }
}
gc();
print keep.len();
";

fn loam(args: &[&str]) -> RunOutput {
    let mut cmd = Command::new(loam_bin());
    cmd.args(args).env_remove("LOAMDEBUG");
    run_command(cmd, common::timeout())
}

fn summary(out: &RunOutput) -> BTreeMap<String, u64> {
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("gc-summary: "))
        .unwrap_or_else(|| panic!("no gc-summary line in {text}"));
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_string(), v.parse().expect("number"))
        })
        .collect()
}

/// Checks that tags nest and close (XML rules, which the writer follows):
/// returns the element names in document order.
fn check_well_formed(html: &str) -> Vec<String> {
    let body = html
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("starts with the doctype");
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "stray '>' in text: {text:?}");
        check_entities(text);
        let gt = rest[lt..].find('>').expect("tag closes") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let top = open
                .pop()
                .unwrap_or_else(|| panic!("</{name}> with nothing open"));
            assert_eq!(top, name, "</{name}> closes <{top}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "tag name {name:?}"
        );
        check_attributes(name, attrs);
        seen.push(name.to_string());
        if !self_closing {
            open.push(name.to_string());
        }
    }
    assert!(rest.trim().is_empty(), "text after the last tag: {rest:?}");
    assert!(open.is_empty(), "never closed: {open:?}");
    seen
}

/// `name="value"` pairs, values without `<` or a raw `"`.
fn check_attributes(tag: &str, attrs: &str) {
    let mut rest = attrs.trim();
    while !rest.is_empty() {
        let eq = rest
            .find("=\"")
            .unwrap_or_else(|| panic!("<{tag}>: attribute without a quoted value: {rest:?}"));
        let name = &rest[..eq];
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "<{tag}>: attribute name {name:?}"
        );
        let value_end = rest[eq + 2..].find('"').expect("value closes") + eq + 2;
        let value = &rest[eq + 2..value_end];
        assert!(!value.contains('<'), "<{tag} {name}>: '<' in value");
        check_entities(value);
        rest = rest[value_end + 1..].trim_start();
    }
}

fn check_entities(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].contains(&entity),
            "unknown entity {entity:?}"
        );
    }
}

/// Every value of attribute `attr` on elements that have it.
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let start = i + needle.len();
            &html[start..start + html[start..].find('"').expect("closes")]
        })
        .collect()
}

fn numbers(html: &str, attr: &str) -> Vec<u64> {
    attr_values(html, attr)
        .into_iter()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{attr}={v:?}")))
        .collect()
}

/// The SVG element with `id`, as text.
fn svg<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no <svg id=\"{id}\">"));
    let end = html[start..].find("</svg>").expect("svg closes") + start;
    &html[start..end]
}

#[test]
fn report_is_well_formed_self_contained_and_agrees_with_gc_stats() {
    let script = temp("churn.lox");
    let report = temp("report.html");
    std::fs::write(&script, CHURN).expect("write script");
    let out = loam(&[
        "--gc-summary",
        "--gc-report",
        report.to_str().expect("utf-8 path"),
        script.to_str().expect("utf-8 path"),
    ]);
    let html = std::fs::read_to_string(&report).expect("report written");
    let _ = std::fs::remove_file(&script);
    let _ = std::fs::remove_file(&report);
    assert_eq!(
        out.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout, b"300\n",
        "the program's own output is untouched"
    );
    let stats = summary(&out);
    let num_gc = stats["num_gc"];
    assert!(
        num_gc >= 3,
        "the script should collect several times: {stats:?}"
    );

    // Well formed; one page; nothing fetched, nothing run.
    let elements = check_well_formed(&html);
    assert_eq!(elements.iter().filter(|e| *e == "html").count(), 1);
    for banned in ["script", "link", "img", "iframe", "object", "embed"] {
        assert!(
            !elements.iter().any(|e| e == banned),
            "<{banned}> in the page"
        );
    }
    for banned in ["http:", "https:", "url(", "@import", " src=", " href="] {
        assert!(!html.contains(banned), "{banned:?} in the page");
    }

    // Each chart is there with its parts.
    let heap = svg(&html, "heap-chart");
    assert!(heap.contains("<polyline id=\"heap-curve\" points=\""));
    assert!(heap.contains("<polygon id=\"heap-area\""));
    assert!(heap.contains("<g id=\"goal\">\n<polyline"));
    let curve = attr_values(heap, "points")[0];
    assert!(
        curve.split_whitespace().count() as u64 >= 2 * num_gc,
        "heap samples at least at each pause's start and end"
    );
    // One band per pause; pauses closer than a pixel share one.
    let bands = heap.matches("class=\"pause-band\"").count() as u64;
    assert!(bands >= 1 && bands <= num_gc, "{bands} bands");
    assert_eq!(heap.matches("<circle ").count() as u64, num_gc, "live dots");
    let timeline = svg(&html, "timeline");
    for lane in [
        "timeline-phases",
        "timeline-bg",
        "timeline-lazy",
        "timeline-full",
    ] {
        assert!(timeline.contains(&format!("<g id=\"{lane}\">")), "{lane}");
    }
    assert_eq!(
        timeline.matches("<title>gc ").count() as u64,
        3 * num_gc,
        "every phase of every cycle"
    );
    let full = &timeline[timeline.find("<g id=\"timeline-full\">").expect("lane")..];
    assert!(
        full[..full.find("</g>").expect("closes")].contains("<rect"),
        "gc() swept fully"
    );
    let pauses = svg(&html, "pause-chart");
    for phase in ["sweep termination", "mark", "mark termination"] {
        assert!(
            pauses.contains(&format!(">{phase}</text>")),
            "legend {phase}"
        );
    }
    let sweeps = svg(&html, "sweep-chart");
    let histogram = svg(&html, "pause-histogram");

    // The numbers agree with gcStats from the same run.
    let cycle_pauses = numbers(pauses, "data-pause-ns");
    assert_eq!(cycle_pauses.len() as u64, num_gc, "one bar per cycle");
    assert_eq!(cycle_pauses.iter().sum::<u64>(), stats["pause_total_ns"]);
    // A bar is a cycle's whole stop-the-world time: under the concurrent
    // mark, its two pauses (sweep termination, mark termination), of which
    // gcStats' maxPauseNs counts the longer.
    let max_bar = cycle_pauses.iter().max().copied().unwrap_or(0);
    let max_pause = stats["max_pause_ns"];
    assert!(
        max_pause <= max_bar && max_bar <= 2 * max_pause,
        "longest bar {max_bar} ns vs longest pause {max_pause} ns"
    );
    assert_eq!(
        numbers(pauses, "data-cycle"),
        (1..=num_gc).collect::<Vec<_>>()
    );
    assert_eq!(numbers(histogram, "data-count").iter().sum::<u64>(), num_gc);
    let bg: u64 = numbers(sweeps, "data-background").iter().sum();
    let lazy: u64 = numbers(sweeps, "data-lazy").iter().sum();
    assert!(bg <= stats["swept_background"] && lazy <= stats["swept_lazy"]);
    assert!(bg + lazy > 0, "sweeping between cycles is shown");
    assert_eq!(numbers(&html, "data-cycles"), [num_gc]);
    let table = &html[html.find("<details id=\"cycles\"").expect("cycle table")..];
    assert_eq!(numbers(table, "data-pause-ns"), cycle_pauses);
    let keys = attr_values(&html, "data-stat");
    let values = numbers(&html, "data-value");
    assert_eq!(keys.len(), values.len());
    for (key, value) in &stats {
        let i = keys
            .iter()
            .position(|k| k == key)
            .unwrap_or_else(|| panic!("{key} missing from the stats table"));
        assert_eq!(values[i], *value, "{key}");
    }
    assert!(keys.contains(&"finalizers_run"));
}

#[test]
fn report_and_trace_together_and_without_collections() {
    let report = temp("small.html");
    let trace = temp("small.json");
    let out = loam(&[
        "--gc-report",
        report.to_str().expect("utf-8 path"),
        "--trace",
        trace.to_str().expect("utf-8 path"),
        "-e",
        "print 1;",
    ]);
    let html = std::fs::read_to_string(&report).expect("report written");
    let json = std::fs::read_to_string(&trace).expect("trace written");
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&trace);
    assert_eq!(out.code, Some(0));
    check_well_formed(&html);
    assert!(html.contains("<code>&lt;eval&gt;</code>"));
    assert!(html.contains("no collection ran"));
    assert!(json.starts_with("{\"displayTimeUnit\""));
}

#[test]
fn an_unwritable_report_fails_before_running() {
    let out = loam(&[
        "--gc-report",
        "/nonexistent-dir/report.html",
        "-e",
        "print 1;",
    ]);
    assert_eq!(out.code, Some(74));
    assert!(out.stdout.is_empty(), "the program did not run");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Could not open report file \"/nonexistent-dir/report.html\".\n"
    );
    assert!(!Path::new("/nonexistent-dir").exists());
}
