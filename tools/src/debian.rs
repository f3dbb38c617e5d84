//! `umbra-rootfs --debian`: a bootable Debian image built **without root**, the way
//! debootstrap builds one with root, in two stages:
//!
//! 1. On the host, as the calling user: the host's `apt-get` resolves and downloads the
//!    packages into a private apt state (`-o Dir=…`, the host's Debian archive keyring checks
//!    the signatures) — every `Priority: required` package, `apt`, `sysvinit-core` and
//!    `--include`d ones with their dependencies; `dpkg-deb -x` unpacks them all into a staging
//!    tree, which `umbra-mkfs` turns into an ext2 image owned by root (no host privilege is
//!    needed for either: the ownership comes from the image builder, not the host).
//! 2. Inside umbra, as guest root: `dpkg` installs the same packages again from `/debs` — which
//!    gives every file its real owner and mode and runs the maintainer scripts — `base-passwd`
//!    and `base-files` first, then unpack all and configure all, as debootstrap's second stage
//!    does; then root gets an empty password and the image its host name.
//!
//! The result boots with `umbra boot OUT.img` to a console `login:` (sysvinit's getty on
//! `tty1`, which umbra shows on the host terminal). Downloads are cached per suite in
//! `~/.cache/umbra/rootfs-debian/SUITE`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What `--debian` builds.
#[derive(Clone, Debug)]
pub struct DebianOptions {
    /// The Debian suite (`bookworm`).
    pub suite: String,
    /// Packages beyond the required set (`--include a,b`).
    pub include: Vec<String>,
    /// The image size in bytes.
    pub size: u64,
    /// The archive (`$DEBIAN_MIRROR`, default deb.debian.org).
    pub mirror: String,
    /// The `umbra` binary that runs the second stage.
    pub umbra: PathBuf,
}

impl DebianOptions {
    /// Defaults: bookworm, 2 GiB, deb.debian.org, `umbra` next to this program (else on PATH).
    pub fn new() -> DebianOptions {
        let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("umbra"))).filter(|p| p.exists());
        DebianOptions {
            suite: "bookworm".into(),
            include: Vec::new(),
            size: 2 << 30,
            mirror: std::env::var("DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into()),
            umbra: std::env::var_os("UMBRA").map(PathBuf::from).or(beside).unwrap_or_else(|| PathBuf::from("umbra")),
        }
    }
}

impl Default for DebianOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Packages every image gets besides `Priority: required` (what debootstrap's minbase adds,
/// plus an init and the login tools).
const BASE_EXTRA: [&str; 5] = ["apt", "sysvinit-core", "login", "passwd", "procps"];

/// Builds the image at `out` (see the module doc).
pub fn build_debian_image(out: &Path, opts: &DebianOptions) -> Result<(), String> {
    let cache = cache_dir(&opts.suite)?;
    let apt = AptState::new(&cache, &opts.suite, &opts.mirror)?;
    eprintln!("umbra-rootfs: resolving and downloading {} packages…", opts.suite);
    apt.run("update", &[])?;
    let mut packages = apt.required_packages()?;
    packages.extend(BASE_EXTRA.iter().map(|s| s.to_string()));
    packages.extend(opts.include.iter().cloned());
    let mut args: Vec<&str> = vec!["-d", "-y", "--no-install-recommends"];
    args.extend(packages.iter().map(String::as_str));
    apt.run("install", &args)?;
    let debs = apt.downloaded()?;
    let stage = cache.join("stage");
    eprintln!("umbra-rootfs: unpacking {} packages into a staging tree…", debs.len());
    unpack_stage(&stage, &debs)?;
    eprintln!("umbra-rootfs: making {}…", out.display());
    crate::mkfs::build_image(&stage, opts.size, out, None).map_err(|e| format!("cannot build {}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&stage);
    eprintln!("umbra-rootfs: second stage inside umbra (dpkg as guest root)…");
    second_stage(out, &opts.umbra)
}

/// `~/.cache/umbra/rootfs-debian/SUITE` (or under `$XDG_CACHE_HOME`).
fn cache_dir(suite: &str) -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    let dir = base.join("umbra/rootfs-debian").join(suite);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A private apt state (lists, cache, an empty dpkg status) the user owns.
struct AptState {
    root: PathBuf,
}

impl AptState {
    fn new(cache: &Path, suite: &str, mirror: &str) -> Result<AptState, String> {
        let root = cache.join("apt");
        for d in ["etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg", "var/log/apt"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| format!("cannot create the apt state: {e}"))?;
        }
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        if !Path::new(keyring).exists() {
            return Err(format!("{keyring} is missing (apt-get install debian-archive-keyring)"));
        }
        let sources = format!("deb [signed-by={keyring}] {mirror} {suite} main\n");
        std::fs::write(root.join("etc/apt/sources.list"), sources).map_err(|e| e.to_string())?;
        std::fs::write(root.join("var/lib/dpkg/status"), "").map_err(|e| e.to_string())?;
        Ok(AptState { root })
    }

    /// The `-o` options that keep apt inside this state and off the host's locks.
    fn options(&self) -> Vec<String> {
        let r = self.root.display();
        vec![
            format!("Dir={r}"),
            format!("Dir::State::status={r}/var/lib/dpkg/status"),
            format!("Dir::Log={r}/var/log/apt"),
            format!("Dir::Cache={r}/var/cache/apt"),
            "Debug::NoLocking=1".into(),
            "APT::Architecture=amd64".into(),
            "APT::Architectures=amd64".into(),
            // Downloads run as the caller (apt's `_apt` could not write this state).
            format!("APT::Sandbox::User={}", whoami()),
        ]
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        for o in self.options() {
            c.arg("-q").arg("-o").arg(o);
        }
        c
    }

    fn run(&self, verb: &str, args: &[&str]) -> Result<(), String> {
        let out = self.command("apt-get").arg(verb).args(args).output().map_err(|e| format!("cannot run apt-get: {e}"))?;
        if !out.status.success() {
            return Err(format!("apt-get {verb} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(())
    }

    /// The packages of `Priority: required` (debootstrap's base set).
    fn required_packages(&self) -> Result<Vec<String>, String> {
        let out = self.command("apt-cache").arg("dumpavail").output().map_err(|e| format!("cannot run apt-cache: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut pkgs = Vec::new();
        let mut name = "";
        for line in text.lines() {
            if let Some(p) = line.strip_prefix("Package: ") {
                name = p.trim();
            } else if line.trim() == "Priority: required" && !name.is_empty() {
                pkgs.push(name.to_string());
            }
        }
        pkgs.sort();
        pkgs.dedup();
        if pkgs.is_empty() {
            return Err("no Priority: required packages in the index (apt-get update failed?)".into());
        }
        Ok(pkgs)
    }

    /// The downloaded `.deb` files.
    fn downloaded(&self) -> Result<Vec<PathBuf>, String> {
        let dir = self.root.join("var/cache/apt/archives");
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "deb"))
            .collect();
        v.sort();
        Ok(v)
    }
}

fn whoami() -> String {
    Command::new("id").arg("-un").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// Unpacks every package into `stage` (owner and setuid bits are fixed by the second stage)
/// and lays out dpkg's empty database and `/debs` with the packages.
fn unpack_stage(stage: &Path, debs: &[PathBuf]) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(stage);
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "debs", "tmp", "proc", "dev", "sys", "root", "run"] {
        std::fs::create_dir_all(stage.join(d)).map_err(|e| e.to_string())?;
    }
    for f in ["var/lib/dpkg/status", "var/lib/dpkg/available"] {
        std::fs::write(stage.join(f), "").map_err(|e| e.to_string())?;
    }
    for deb in debs {
        let st = Command::new("dpkg-deb").arg("-x").arg(deb).arg(stage).status().map_err(|e| format!("cannot run dpkg-deb: {e}"))?;
        if !st.success() {
            return Err(format!("dpkg-deb -x {} failed", deb.display()));
        }
        let name = deb.file_name().ok_or("a package without a name")?;
        std::fs::copy(deb, stage.join("debs").join(name)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The second stage, run by guest root in umbra: dpkg installs everything properly, then the
/// image is made ready to boot (root without password, a host name, no package copies left).
const SECOND_STAGE: &str = "export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive; set -e; cd /debs; \
    dpkg --force-depends --install base-passwd_*.deb >/var/log/bootstrap.log 2>&1; \
    dpkg --force-depends --install base-files_*.deb >>/var/log/bootstrap.log 2>&1; \
    dpkg --force-depends --unpack *.deb >>/var/log/bootstrap.log 2>&1; \
    dpkg --configure --pending --force-configure-any --force-depends >>/var/log/bootstrap.log 2>&1; \
    dpkg --audit; passwd -d root >/dev/null; echo umbra > /etc/hostname; cd /; rm -rf /debs; \
    echo \"installed $(dpkg -l | grep -c '^ii') packages\"";

fn second_stage(img: &Path, umbra: &Path) -> Result<(), String> {
    let out = Command::new(umbra)
        .args(["run", "--mem", "1G", "--root"])
        .arg(img)
        .args(["--", "/bin/sh", "-c", SECOND_STAGE])
        .output()
        .map_err(|e| format!("cannot run {}: {e} (set UMBRA=/path/to/umbra)", umbra.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the second stage failed ({}); its log is /var/log/bootstrap.log in the image\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprint!("umbra-rootfs: {text}");
    Ok(())
}
