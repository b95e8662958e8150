//! Finds the system libdpdk with pkg-config, compiles the C shim for DPDK's `static inline`
//! functions, and runs bindgen over `shim/shim.h` with an allowlist.
//!
//! Emits:
//! * the link flags of `pkg-config --libs libdpdk` (shared libraries; the EAL loads the PMDs
//!   from its plugin directory at run time);
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

fn pkg_config_cflags() -> Vec<String> {
    let exe = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let out = Command::new(&exe)
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("{MISSING}; running `{exe} --cflags libdpdk` failed: {e}"));
    if !out.status.success() {
        panic!(
            "{MISSING}; `{exe} --cflags libdpdk` said: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout)
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
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rustc-check-cfg=cfg(dpdk_22_11_or_later)");

    let lib = match pkg_config::Config::new()
        .atleast_version("21.11")
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
