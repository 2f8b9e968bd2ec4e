//! What udev and wpa_cli hand the hooks: arguments as bytes, udev's ACTION and INTERFACE,
//! an rfkill DEVPATH, wpa_cli's interface and event, dhclient's reason. Each is an event,
//! an ignore, or a one-line refusal.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use hotbond::kernel::RfkillDev;
use libfuzzer_sys::fuzz_target;

fn one_line(r: anyhow::Result<impl Sized>) {
    if let Err(e) = r {
        let s = format!("{e:#}");
        assert!(!s.contains('\n') && !s.contains('\r'), "{s:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    // The invocation: NUL-separated arguments, as the kernel hands them over.
    let raw: Vec<OsString> = data
        .split(|&b| b == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect();
    let args = match hotbond::args::utf8(raw) {
        Ok(a) => a,
        Err(e) => return one_line(Err::<(), _>(e)),
    };
    let _ = hotbond::args::help_requested(&args, "usage");
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    one_line(hotbond::hooks::udev_event(a(0), a(1)));
    one_line(hotbond::hooks::wpa_event(a(0), a(1)));
    one_line(hotbond::hooks::wpa_event(a(1), a(0)));
    one_line(hotbond::dhcp::dhclient_script::event(a(0)));
    let dev = a(1).rsplit('/').next().unwrap_or("");
    if let Ok(d) = dev.parse::<RfkillDev>() {
        assert_eq!(d.to_string().parse::<RfkillDev>().ok(), Some(d));
    }
});
