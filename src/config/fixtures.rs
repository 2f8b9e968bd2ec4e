//! Inputs shared by the configuration's tests.

use std::path::Path;

use anyhow::Result;

use super::Config;
use crate::net::{DeviceFacts, IfName, IpNet};

pub(crate) fn toml(text: &str) -> Result<Config> {
    Config::from_toml_str(text, Path::new("t.toml"))
}

pub(crate) fn env(text: &str) -> Result<Config> {
    Config::from_env_str(text, Path::new("network.conf"))
}

pub(crate) fn toml_err(text: &str) -> String {
    match toml(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

pub(crate) fn env_err(text: &str) -> String {
    match env(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

pub(crate) fn dev(name: &str) -> DeviceFacts {
    DeviceFacts {
        name: name.into(),
        physical: true,
        ..DeviceFacts::default()
    }
}

pub(crate) fn n(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

pub(crate) fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The classic recipe's /etc/conf.d/network.conf, verbatim.
pub(crate) const CLASSIC_NETWORK_CONF: &str = r#"# These Environment names are formed by prefixing the base variable name with the interface names.
# Remember, here, these are systemd.service Environment variables, not shell variables.
# Variables that are not set or that are set to the empty string will have no effect.
# Add a list of interface names here, in the form of a comment, for reference.
# wlp2s0 enp3s0 bond0

# PRIMARY is the name of the preferred network interface in the bonded group of interfaces.
bond0PRIMARY='enp3s0'

# ADDRS is a single-quoted space separated list of IPv4 and IPv6 addresses to apply to the interface.
# The ADDRESS must be followed by a slash and a decimal number which encodes the network prefix length.
# interfaceADDRS='address1/length address2/length ...'
bond0ADDRS='192.168.0.2/24'
wlp2s0ADDRS=
enp3s0ADDRS=

# ROUTES is a single-quoted space separated list of double-quoted ip-route ROUTE specifications.
# A PREFIX must be followed by a slash and a decimal number which encodes the network prefix length.
# Remember, to be able to add a route, the host must first be able to reach the gateway.
# interfaceROUTES='"to prefix1/length] via gateway1" "to prefix2/length via gateway2" ...'
bond0ROUTES=
"#;

/// The format as given in the design brief, with everything set.
pub(crate) const FULL_TOML: &str = r#"
[[bond]]
name = "bond0"
kind = "bond"
primary = "enp3s0"
addresses = ["192.168.0.2/24", "2001:db8::2/64"]
routes = ["default via 192.168.0.1", "10.0.0.0/8 via 192.168.0.254 metric 50"]
[bond.options]
miimon = 100
updelay = 200
downdelay = 0
primary_reselect = "better"
[bond.dhcp]
client = "dhclient"
client_id = "00:02:00:02:2e:2d:01:bd:c3:92:9a:44:2a:c4"
hostname = "laptop"
dns = false
[[bond.slave]]
name = "enp*"
[[bond.slave]]
name = "wlp*"
supplicant = { config = "/etc/wpa_supplicant/wpa_supplicant.conf", driver = "nl80211" }
[[bond.slave]]
mac = "68:A3:C4:AC:63:D1"
[[bond.slave]]
bus = "usb"
[[bond.slave]]
any = true
"#;
