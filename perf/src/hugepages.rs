//! The memory the bench's DPDK programs run in.
//!
//! Labs run DPDK on hugepages; CI machines have none, and there the EAL runs with
//! `--no-huge` on 4 KiB pages (`test-rig.md`). With 4 KiB pages the mbuf pool that holds a
//! large capture (40-150 MB at 64k-1M flows) costs both programs a TLB miss every few
//! packets, so figures from a machine that has hugepages but ran without them would not be
//! the ones its users see. `svcard bench --hugepages auto` (the default) uses hugepages when
//! the machine has enough of them free on a mounted hugetlbfs, and `--no-huge` otherwise;
//! svcard and testpmd of a case always get the same, and the report says which.

use std::fmt;

/// The `--hugepages` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hugepages {
    /// Hugepages when there are enough, else 4 KiB pages.
    #[default]
    Auto,
    /// Hugepages, or an error saying what is missing.
    Yes,
    /// 4 KiB pages (`--no-huge`) whatever the machine has.
    No,
}

impl Hugepages {
    /// The option's words.
    pub const NAMES: &'static str = "auto, yes, no";

    /// From the option's word.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "auto" => Some(Self::Auto),
            "yes" => Some(Self::Yes),
            "no" => Some(Self::No),
            _ => None,
        }
    }
}

/// The memory a case's DPDK programs run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EalMemory {
    /// `--no-huge`: anonymous 4 KiB pages.
    #[default]
    NoHuge,
    /// Hugepages of `page_kb` KiB from a hugetlbfs mount, with `--huge-unlink` (the page
    /// files are unlinked as soon as they are mapped, so none is left behind however the
    /// program ends).
    Huge {
        /// The page size in KiB.
        page_kb: u64,
    },
}

impl EalMemory {
    /// The EAL option that selects it.
    #[must_use]
    pub fn eal_flag(self) -> &'static str {
        match self {
            Self::NoHuge => "--no-huge",
            Self::Huge { .. } => "--huge-unlink",
        }
    }

    /// Its name in reports and JSON: `no-huge` or `hugepages-2048kB`.
    #[must_use]
    pub fn tag(self) -> String {
        match self {
            Self::NoHuge => "no-huge".into(),
            Self::Huge { page_kb } => format!("hugepages-{page_kb}kB"),
        }
    }
}

impl fmt::Display for EalMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoHuge => f.write_str("4 KiB pages (--no-huge)"),
            Self::Huge { page_kb } if page_kb % 1024 == 0 => {
                write!(f, "{} MiB hugepages", page_kb / 1024)
            }
            Self::Huge { page_kb } => write!(f, "{page_kb} KiB hugepages"),
        }
    }
}

/// The hugepages a machine has for the EAL: those of the default size (`Hugepagesize` in
/// `/proc/meminfo`), free, and whether a hugetlbfs of that size is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Supply {
    /// `HugePages_Free`.
    pub free_pages: u64,
    /// `Hugepagesize`, KiB.
    pub page_kb: u64,
    /// A hugetlbfs of the default page size is mounted.
    pub mounted: bool,
}

impl Supply {
    /// From the texts of `/proc/meminfo` and `/proc/mounts`.
    #[must_use]
    pub fn parse(meminfo: &str, mounts: &str) -> Self {
        let field = |name: &str| meminfo_field(meminfo, name).unwrap_or(0);
        let page_kb = field("Hugepagesize");
        let mounted = page_kb > 0
            && mounts.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let pagesize = f
                    .get(3)
                    .and_then(|opts| opts.split(',').find_map(|o| o.strip_prefix("pagesize=")));
                f.get(2) == Some(&"hugetlbfs")
                    && match pagesize {
                        // No pagesize= option: the default size.
                        None => true,
                        Some(s) => size_kb(s) == Some(page_kb),
                    }
            });
        Supply {
            free_pages: field("HugePages_Free"),
            page_kb,
            mounted,
        }
    }

    /// This machine's (none where `/proc` says nothing).
    #[must_use]
    pub fn of_machine() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Self::parse(&read("/proc/meminfo"), &read("/proc/mounts"))
    }

    /// Free hugepage memory, MB.
    #[must_use]
    pub fn free_mb(&self) -> u64 {
        self.free_pages * self.page_kb / 1024
    }
}

/// The number of `/proc/meminfo`'s line `name` (`MemAvailable`, `HugePages_Free`; in kB
/// where the line gives a unit).
#[must_use]
pub fn meminfo_field(meminfo: &str, name: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// A mount's `pagesize=` value (`2M`, `1G`, `2048k`) in KiB.
fn size_kb(s: &str) -> Option<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().ok()?;
    match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" => Some(n),
        "m" | "mb" => Some(n * 1024),
        "g" | "gb" => Some(n * 1024 * 1024),
        "" => Some(n / 1024),
        _ => None,
    }
}

/// The memory for a case whose DPDK programs need `need_mb` MB each (`-m`; they run one
/// at a time).
///
/// # Errors
/// With [`Hugepages::Yes`], what is missing: a hugetlbfs mount, or free pages.
pub fn choose(want: Hugepages, supply: Supply, need_mb: u64) -> Result<EalMemory, String> {
    let huge = EalMemory::Huge {
        page_kb: supply.page_kb,
    };
    let enough = supply.mounted && supply.free_mb() >= need_mb;
    match want {
        Hugepages::No => Ok(EalMemory::NoHuge),
        Hugepages::Auto if enough => Ok(huge),
        Hugepages::Auto => Ok(EalMemory::NoHuge),
        Hugepages::Yes if enough => Ok(huge),
        Hugepages::Yes if !supply.mounted => Err(format!(
            "--hugepages yes: no hugetlbfs of the default page size ({} kB) is mounted \
             (mount -t hugetlbfs nodev /dev/hugepages)",
            supply.page_kb
        )),
        Hugepages::Yes => Err(format!(
            "--hugepages yes: {need_mb} MB of hugepages needed, {} MB free \
             (raise /proc/sys/vm/nr_hugepages)",
            supply.free_mb()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24578424 kB\nHugePages_Total:    1536\n\
                           HugePages_Free:     1500\nHugePages_Rsvd:        0\n\
                           Hugepagesize:       2048 kB\nHugetlb:         3145728 kB\n";
    const MOUNTED: &str = "proc /proc proc rw,nosuid 0 0\n\
                           nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n";

    #[test]
    fn supply_reads_free_pages_size_and_mount() {
        let s = Supply::parse(MEMINFO, MOUNTED);
        assert_eq!(
            s,
            Supply {
                free_pages: 1500,
                page_kb: 2048,
                mounted: true
            }
        );
        assert_eq!(s.free_mb(), 3000);
        // A mount without pagesize= is of the default size; one of another size is not.
        assert!(Supply::parse(MEMINFO, "none /mnt/h hugetlbfs rw 0 0").mounted);
        assert!(!Supply::parse(MEMINFO, "none /mnt/h hugetlbfs rw,pagesize=1G 0 0").mounted);
        assert!(!Supply::parse(MEMINFO, "proc /proc proc rw 0 0").mounted);
        // No hugepage lines at all (a kernel without them): nothing.
        assert_eq!(
            Supply::parse("MemTotal: 1 kB\n", MOUNTED),
            Supply::default()
        );
    }

    #[test]
    fn meminfo_fields_by_exact_name() {
        assert_eq!(meminfo_field(MEMINFO, "HugePages_Free"), Some(1500));
        assert_eq!(meminfo_field(MEMINFO, "MemTotal"), Some(24_578_424));
        // A name that only begins another's is not that line.
        assert_eq!(meminfo_field(MEMINFO, "HugePages"), None);
        assert_eq!(meminfo_field(MEMINFO, "MemAvailable"), None);
    }

    #[test]
    fn mount_page_sizes() {
        assert_eq!(size_kb("2M"), Some(2048));
        assert_eq!(size_kb("1G"), Some(1 << 20));
        assert_eq!(size_kb("2048k"), Some(2048));
        assert_eq!(size_kb("2x"), None);
    }

    #[test]
    fn choice_follows_the_supply() {
        let s = Supply::parse(MEMINFO, MOUNTED);
        let huge = EalMemory::Huge { page_kb: 2048 };
        assert_eq!(choose(Hugepages::Auto, s, 3000), Ok(huge));
        assert_eq!(choose(Hugepages::Auto, s, 3001), Ok(EalMemory::NoHuge));
        assert_eq!(choose(Hugepages::No, s, 10), Ok(EalMemory::NoHuge));
        assert_eq!(choose(Hugepages::Yes, s, 10), Ok(huge));
        let short = choose(Hugepages::Yes, s, 4000).unwrap_err();
        assert!(
            short.contains("4000 MB of hugepages needed, 3000 MB free"),
            "{short}"
        );
        let unmounted = Supply {
            mounted: false,
            ..s
        };
        assert_eq!(
            choose(Hugepages::Auto, unmounted, 10),
            Ok(EalMemory::NoHuge)
        );
        let err = choose(Hugepages::Yes, unmounted, 10).unwrap_err();
        assert!(err.contains("no hugetlbfs"), "{err}");
    }

    #[test]
    fn names_and_flags() {
        let huge = EalMemory::Huge { page_kb: 2048 };
        assert_eq!(huge.eal_flag(), "--huge-unlink");
        assert_eq!(EalMemory::NoHuge.eal_flag(), "--no-huge");
        assert_eq!(huge.tag(), "hugepages-2048kB");
        assert_eq!(huge.to_string(), "2 MiB hugepages");
        assert_eq!(EalMemory::NoHuge.to_string(), "4 KiB pages (--no-huge)");
        assert_eq!(Hugepages::parse("yes"), Some(Hugepages::Yes));
        assert_eq!(Hugepages::parse("maybe"), None);
    }
}
