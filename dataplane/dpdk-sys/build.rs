//! Finds the system libdpdk with pkg-config, compiles the C shim for DPDK's `static inline`
//! functions, and runs bindgen over `shim/shim.h` with an allowlist.
//!
//! Emits:
//! * the link flags. By default DPDK is linked **statically** when its archives are installed
//!   (Debian's `libdpdk-dev` ships them): the core libraries and the drivers in [`DRIVERS`],
//!   whole, into the binary. The packet path then calls DPDK directly instead of through the
//!   PLT, and DPDK's per-lcore variables are read at a fixed offset from the thread pointer
//!   instead of through `__tls_get_addr` (one call a packet in a PMD's transmit: about 11
//!   instructions). A statically linked EAL loads no plugins: a device whose driver is not in
//!   [`DRIVERS`] needs the shared build, `SVCARD_DPDK_LINK=shared` at build time, which links
//!   `pkg-config --libs libdpdk` and lets the EAL load every PMD from its plugin directory.
//!   Without the archives the default falls back to the shared build with a warning;
//!   `SVCARD_DPDK_LINK=static` insists (the build fails);
//! * `cargo:rustc-cfg=dpdk_22_11_or_later` when the DPDK version is 22.11 or newer, and the
//!   version string as the `DPDK_VERSION` compile-time environment variable;
//! * `cargo:version=...` and `cargo:include=...` for dependents (`DEP_DPDK_VERSION`,
//!   `DEP_DPDK_INCLUDE`), since the package declares `links = "dpdk"`.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const MISSING: &str = "libdpdk not found by pkg-config: install the Debian packages dpdk-dev \
libdpdk-dev libclang-dev libpcap-dev (apt-get install dpdk dpdk-dev libdpdk-dev libclang-dev \
libpcap-dev)";

/// The drivers a static build carries: the buses, the mempool handlers, the virtual devices
/// the test rig and the bench use, and the common NICs of commodity x86 servers and clouds.
const DRIVERS: &[&str] = &[
    "bus_pci",
    "bus_vdev",
    "mempool_ring",
    "mempool_stack",
    "net_null",
    "net_pcap",
    "net_ring",
    "net_af_packet",
    "net_tap",
    "net_memif",
    "net_virtio",
    "net_vmxnet3",
    "net_ena",
    "net_e1000",
    "net_igc",
    "net_ixgbe",
    "net_i40e",
    "common_iavf",
    "net_iavf",
    "net_ice",
];

/// The libraries those drivers and svcard need, users before what they use.
const LIBRARIES: &[&str] = &[
    "gso",
    "hash",
    "security",
    "cryptodev",
    "rcu",
    "timer",
    "stack",
    "ethdev",
    "meter",
    "net",
    "mbuf",
    "mempool",
    "ring",
    "pci",
    "eal",
    "telemetry",
    "kvargs",
];

/// The system libraries the archives above call (shared: they come with DPDK's own packages).
const SYSTEM: &[&str] = &["pcap", "numa", "fdt", "bsd", "m", "dl", "pthread", "rt"];

/// Links DPDK statically from `libdir` when every archive is there; false (nothing emitted)
/// when one is missing.
fn link_static(libdir: &std::path::Path) -> bool {
    let archives: Vec<&str> = DRIVERS.iter().chain(LIBRARIES).copied().collect();
    if let Some(missing) = archives
        .iter()
        .find(|a| !libdir.join(format!("librte_{a}.a")).exists())
    {
        println!(
            "cargo:warning=librte_{missing}.a not found in {}: DPDK linked as shared libraries",
            libdir.display()
        );
        return false;
    }
    println!("cargo:rustc-link-search=native={}", libdir.display());
    // Whole archives, as `pkg-config --static` gives them: drivers and buses register
    // themselves from constructors that nothing references.
    for a in archives {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=rte_{a}");
    }
    for l in SYSTEM {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
    println!("cargo:rustc-env=DPDK_LINK=static");
    true
}

/// The output of `pkg-config ARG libdpdk` (the `PKG_CONFIG` program if set); a failure
/// says what to install.
fn pkg_config(arg: &str) -> String {
    let exe = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let out = Command::new(&exe)
        .args([arg, "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("{MISSING}; running `{exe} {arg} libdpdk` failed: {e}"));
    if !out.status.success() {
        panic!(
            "{MISSING}; `{exe} {arg} libdpdk` said: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Where the archives are (a system directory is not in `--libs`).
fn pkg_config_libdir() -> PathBuf {
    PathBuf::from(pkg_config("--variable=libdir"))
}

fn pkg_config_cflags() -> Vec<String> {
    pkg_config("--cflags")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Splits `-include rte_config.h` style pairs so that each flag reaches clang whole.
fn clang_args(cflags: &[String]) -> Vec<String> {
    let mut args = Vec::new();
    let mut it = cflags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                args.push(f.clone());
                args.push(h.clone());
            }
        } else {
            args.push(f.clone());
        }
    }
    args
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/flow.h");
    println!("cargo:rerun-if-changed=shim/flow.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-env-changed=SVCARD_DPDK_LINK");
    println!("cargo:rustc-check-cfg=cfg(dpdk_22_11_or_later)");

    // (want static, insist on it): the default falls back to the shared libraries when an
    // archive is missing; an explicit `static` does not.
    let (want_static, insist) = match env::var("SVCARD_DPDK_LINK").as_deref() {
        Ok("shared") => (false, false),
        Ok("static") => (true, true),
        Err(_) => (true, false),
        Ok(other) => panic!("SVCARD_DPDK_LINK={other}: say `static` (the default) or `shared`"),
    };
    let lib = match pkg_config::Config::new()
        .atleast_version("21.11")
        .cargo_metadata(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => panic!("{MISSING}\n(pkg-config error: {e})"),
    };
    let version = lib.version.clone();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (22, 11) {
        println!("cargo:rustc-cfg=dpdk_22_11_or_later");
    }
    println!("cargo:rustc-env=DPDK_VERSION={version}");
    let linked_static = want_static && link_static(&pkg_config_libdir());
    if insist && !linked_static {
        panic!("SVCARD_DPDK_LINK=static, but DPDK's static archives are missing (see the warning)");
    }
    if !linked_static {
        for dir in &lib.link_paths {
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
        for l in &lib.libs {
            println!("cargo:rustc-link-lib={l}");
        }
        println!("cargo:rustc-env=DPDK_LINK=shared");
    }
    println!("cargo:version={version}");
    if let Some(inc) = lib.include_paths.first() {
        println!("cargo:include={}", inc.display());
    }

    let cflags = pkg_config_cflags();
    let args = clang_args(&cflags);

    // The shim: compiled with exactly the flags DPDK's own users get (`-include rte_config.h`,
    // `-march=...`), so the inline functions match the installed libraries.
    let mut build = cc::Build::new();
    build
        .file("shim/shim.c")
        .file("shim/flow.c")
        .include("shim")
        .opt_level(3)
        .warnings(true);
    for a in &args {
        build.flag(a);
    }
    build.compile("svcard_dpdk_shim");

    let bindings = bindgen::Builder::default()
        .header("shim/shim.h")
        .clang_args(args.iter())
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate_comments(false)
        .derive_default(true)
        .derive_debug(true)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        // Functions the safe layer (port::dpdk) calls, and neighbours an operator tool may need.
        .allowlist_function("svcard_.*")
        .allowlist_function("rte_eal_.*")
        .allowlist_function("rte_eth_.*")
        .allowlist_function("rte_pktmbuf_.*")
        .allowlist_function("rte_mempool_.*")
        .allowlist_function("rte_mbuf_.*")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_lcore_.*")
        .allowlist_function("rte_thread_register")
        .allowlist_function("rte_thread_unregister")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_dev_.*")
        .allowlist_function("rte_version")
        .allowlist_function("rte_telemetry_register_cmd")
        .allowlist_function("rte_tel_data_start_dict")
        .allowlist_function("rte_tel_data_add_dict_u64")
        .allowlist_function("rte_tel_data_add_dict_string")
        .allowlist_type("rte_mbuf")
        .allowlist_type("rte_mempool")
        .allowlist_type("rte_eth_conf")
        .allowlist_type("rte_eth_dev_info")
        .allowlist_type("rte_eth_stats")
        .allowlist_type("rte_eth_link")
        .allowlist_type("rte_eth_rss_conf")
        .allowlist_type("rte_eth_rxconf")
        .allowlist_type("rte_eth_txconf")
        .allowlist_var("RTE_ETH_.*")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .allowlist_var("RTE_MAX_LCORE")
        .allowlist_var("RTE_MBUF_DEFAULT_.*")
        .allowlist_var("RTE_PKTMBUF_HEADROOM")
        .allowlist_var("RTE_MEMPOOL_.*")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("LCORE_ID_ANY")
        .allowlist_var("RTE_VER_.*")
        .generate()
        .unwrap_or_else(|e| panic!("bindgen over shim/shim.h with libdpdk {version} failed: {e}"));

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs into OUT_DIR");
}
