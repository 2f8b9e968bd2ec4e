//! The env-file front end (the classic recipe's network.conf) and its lexer: any text is a
//! configuration or a positioned, one-line refusal.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

mod config_common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match hotbond::config::Config::from_env_str(text, Path::new("f.conf")) {
        Ok(cfg) => {
            assert!(!cfg.bonds.is_empty());
            let _ = serde_json::to_string(&cfg);
        }
        Err(e) => config_common::assert_positioned(text, "f.conf", &e),
    }
});
