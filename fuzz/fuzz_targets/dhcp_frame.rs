//! The built-in DHCP client's raw frame path: an IPv4 datagram from the packet socket,
//! unwrapped to its UDP payload (checksums, fragments, ports checked) and decoded.
#![no_main]

use hotbond::dhcp::builtin::{codec, socket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flag, datagram)) = data.split_first() else {
        return;
    };
    if let Some(payload) = socket::dhcp_payload(datagram, flag & 1 != 0) {
        assert!(payload.len() <= datagram.len());
        let _ = codec::parse(payload);
    }
});
