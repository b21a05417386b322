//! `ls` and `stat`: a table on a terminal, JSON for scripts.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use crate::objects::{Kind, Object};
use crate::units::{format_age, format_size};

/// Writes a line on stdout. When the reader has gone (`ipcctl ls | head`),
/// ends the program with status 141 and no message, as `SIGPIPE` ends the
/// C tools; any other write error ends it with status 1.
pub(crate) fn line(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        exit_on_write_error(&e);
    }
}

/// Ends the program after a failed write to stdout (see [`line()`]).
pub(crate) fn exit_on_write_error(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    errln!("ipcctl: writing stdout: {e}");
    std::process::exit(1);
}

/// `eprintln!` that ignores a closed stderr (`eprintln!` panics then): a
/// message nobody can read is not worth a crash.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use errln;

/// `println!` through [`line()`].
macro_rules! outln {
    () => {
        $crate::show::line("")
    };
    ($($arg:tt)*) => {
        $crate::show::line(&format!($($arg)*))
    };
}
pub(crate) use outln;

/// `text` with its control characters escaped (`\n`, `\u{1b}`): a name
/// holding them can neither fake lines of output nor send the terminal
/// escape sequences.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// ANSI colours, used only when stdout is a terminal and `NO_COLOR` is unset.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    on: bool,
}

impl Style {
    pub(crate) fn stdout() -> Style {
        Style {
            on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    pub(crate) fn stderr() -> Style {
        Style {
            on: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    pub(crate) fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    pub(crate) fn red(self, s: &str) -> String {
        self.paint("31", s)
    }
    pub(crate) fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }
    pub(crate) fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
    pub(crate) fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// The SIZE column: shared memory bytes; a queue's message size limit.
fn size_cell(o: &Object) -> String {
    match o.kind {
        Kind::Shm => o.size.map_or("?".into(), format_size),
        Kind::Mq => match (o.max_messages, o.max_message_size) {
            (Some(n), Some(s)) => format!("{n}×{}", format_size(s)),
            _ => "?".into(),
        },
        Kind::Sem => "-".into(),
    }
}

/// The VALUE column: a semaphore's value; a queue's depth.
fn value_cell(o: &Object) -> String {
    match o.kind {
        Kind::Sem => o.value.map_or("?".into(), |v| v.to_string()),
        Kind::Mq => match (o.depth, o.max_messages) {
            (Some(d), Some(m)) => format!("{d}/{m}"),
            _ => "?".into(),
        },
        Kind::Shm => "-".into(),
    }
}

/// The TYPE column: `Mutex 0x1234abcd` for typed objects, `?` when the
/// header could not be read.
fn type_cell(o: &Object) -> String {
    if o.header_unknown {
        return "?".into();
    }
    o.typed.as_ref().map_or("-".into(), |t| {
        let short = t.layout.get(..10).unwrap_or(&t.layout);
        if t.state == "ready" {
            format!("{} {short}", t.kind)
        } else {
            format!("{} ({})", t.kind, t.state)
        }
    })
}

fn holder_cell(o: &Object) -> String {
    if o.header_unknown {
        return "?".into();
    }
    o.typed
        .as_ref()
        .and_then(crate::objects::Typed::holder)
        .unwrap_or_else(|| "-".into())
}

/// Prints `objects` as an aligned table, then the warnings on stderr.
pub(crate) fn table(objects: &[Object], warnings: &[String]) {
    let style = Style::stdout();
    let header = [
        "KIND", "NAME", "OWNER", "MODE", "SIZE", "VALUE", "AGE", "TYPE", "LOCK",
    ];
    let rows: Vec<[String; 9]> = objects
        .iter()
        .map(|o| {
            [
                o.kind.as_str().to_owned(),
                printable(&o.name).into_owned(),
                o.owner.clone().unwrap_or_else(|| "?".into()),
                o.mode.clone().unwrap_or_else(|| "?".into()),
                size_cell(o),
                value_cell(o),
                o.age_seconds
                    .map_or_else(|| "?".into(), |a| format_age(Duration::from_secs(a))),
                type_cell(o),
                holder_cell(o),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out
    };
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    outln!("{}", style.bold(line(&head).trim_end()));
    for (row, o) in rows.iter().zip(objects) {
        let text = line(row);
        let text = match o.typed.as_ref().and_then(|t| t.lock.as_deref()) {
            Some("holder dead") => style.red(&text),
            Some("held") => style.yellow(&text),
            _ => text,
        };
        outln!("{text}");
    }
    if objects.is_empty() {
        outln!("{}", style.dim("(no objects)"));
    }
    warn_all(warnings);
}

/// Prints warnings on stderr.
pub(crate) fn warn_all(warnings: &[String]) {
    let style = Style::stderr();
    for w in warnings {
        errln!("{} {}", style.yellow("ipcctl: note:"), printable(w));
    }
}

/// `ls --json`: `{"objects": [...], "warnings": [...]}`.
pub(crate) fn json(objects: &[Object], warnings: &[String]) {
    let doc = serde_json::json!({ "objects": objects, "warnings": warnings });
    outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
}

/// `stat`: one block of `key: value` lines per object.
pub(crate) fn stat(o: &Object) {
    let style = Style::stdout();
    let mut lines: Vec<(&str, String)> = vec![
        ("kind", o.kind.long().to_owned()),
        (
            "path",
            printable(&o.path.display().to_string()).into_owned(),
        ),
    ];
    if let (Some(owner), Some(uid)) = (&o.owner, o.uid) {
        lines.push(("owner", format!("{owner} (uid {uid})")));
    }
    if let Some(mode) = &o.mode {
        lines.push(("mode", mode.clone()));
    }
    if let (Some(age), Some(ctime)) = (o.age_seconds, o.ctime) {
        lines.push((
            "age",
            format!("{} (ctime {ctime})", format_age(Duration::from_secs(age))),
        ));
    }
    if let Some(size) = o.size {
        lines.push(("size", format!("{} ({size} bytes)", format_size(size))));
    }
    if let Some(v) = o.value {
        lines.push(("value", v.to_string()));
    }
    if let Some(d) = o.depth {
        lines.push(("messages", d.to_string()));
    }
    if let Some(m) = o.max_messages {
        lines.push(("max messages", m.to_string()));
    }
    if let Some(s) = o.max_message_size {
        lines.push(("max message size", format!("{s} bytes")));
    }
    if let Some(t) = &o.typed {
        lines.push((
            "typed",
            format!("ipc {} (format {})", t.kind, t.format_version),
        ));
        lines.push(("layout", t.layout.clone()));
        let state = match t.init_pid {
            Some(pid) => format!("{} (by pid {pid})", t.state),
            None => t.state.clone(),
        };
        lines.push(("state", state));
        if let Some(h) = t.holder() {
            let h = match t.lock.as_deref() {
                Some("holder dead") => style.red(&format!(
                    "{h}: the next locker recovers it{}",
                    t.holder_tid
                        .map(|tid| format!(" (it was tid {tid})"))
                        .unwrap_or_default()
                )),
                Some("free") => style.green(&h),
                _ => h,
            };
            lines.push(("lock", h));
        }
    }
    for n in &o.notes {
        lines.push(("note", printable(n).into_owned()));
    }
    outln!(
        "{}",
        style.bold(&format!("{} {}", o.kind.as_str(), printable(&o.name)))
    );
    for (k, v) in lines {
        outln!("  {:<17} {v}", format!("{k}:"));
    }
}
