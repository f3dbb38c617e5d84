//! umbra's logger: `log` records to the host's stderr, prefixed `umbra:`, quiet by default
//! (warn; `--log LEVEL` changes it), and every record at info or above (or at `--log`'s level
//! if lower) into the kernel log ring the guest's `dmesg` reads (`kernel::kmsg`).

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLogger;

/// The level printed on the host's stderr (`--log`).
static STDERR_LEVEL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(2);

fn stderr_level() -> LevelFilter {
    match STDERR_LEVEL.load(std::sync::atomic::Ordering::Relaxed) {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

impl Log for StderrLogger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let text = r.args().to_string();
        if r.level() <= stderr_level() {
            let level = r.level().as_str().to_ascii_lowercase();
            // Raw mode terminals need "\r\n"; eprintln's "\n" is fine elsewhere.
            eprintln!("umbra: {level}: {text}");
        }
        kernel::kmsg::log_record(r.level(), &text);
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the logger, printing `level` and above on stderr (and keeping info and above in
/// the kernel log).
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    STDERR_LEVEL.store(level as usize, std::sync::atomic::Ordering::Relaxed);
    log::set_max_level(level.max(LevelFilter::Info));
}
