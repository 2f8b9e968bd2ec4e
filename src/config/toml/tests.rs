//! The TOML front end: what it accepts and each error with its position.

use super::super::fixtures::{n, net, toml, toml_err, FULL_TOML};
use super::*;

#[test]
fn example_toml_parses() {
    let text = include_str!("../../../conf/hotbond.toml");
    let c = toml(text).unwrap();
    assert_eq!(c.bonds.len(), 1);
    let b = &c.bonds[0];
    assert_eq!(b.name, "bond0");
    assert_eq!(b.kind, Kind::Bond);
    assert_eq!(b.primary, Some(n("enp3s0")));
    assert_eq!(b.options, BondOptions::default());
    assert_eq!(b.dhcp.client_id, ClientId::Duid);
    assert_eq!(b.slaves.len(), 2);
    assert_eq!(b.slaves[0].matcher, Match::Name("enp*".into()));
    assert_eq!(b.slaves[0].supplicant, None);
    assert_eq!(b.slaves[1].matcher, Match::Name("wlp*".into()));
    assert_eq!(
        b.slaves[1].supplicant,
        Some(Supplicant {
            config: DEFAULT_SUPPLICANT_CONFIG.into(),
            driver: "nl80211".into()
        })
    );
    assert_eq!(b.auto_supplicant, None);
    // Every commented-out setting in the example is valid too.
    let uncommented: String = text
        .lines()
        .map(|l| l.strip_prefix("#: ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(uncommented.len() < text.len(), "example has no #: lines");
    let c = toml(&uncommented).unwrap();
    assert_eq!(c.bonds.len(), 2);
    assert_eq!(c.bonds[0].addresses, vec![net("192.168.0.2/24")]);
    assert_eq!(c.bonds[0].routes.len(), 2);
    assert_eq!(c.bonds[0].dhcp.hostname.as_deref(), Some("laptop"));
    assert!(!c.bonds[0].dhcp.dns);
    assert!(c.bonds[0].auto_supplicant.is_some());
    assert_eq!(c.bonds[0].ipv6, Ipv6Mode::Stable);
    assert_eq!(c.bonds[1].kind, Kind::Bridge);
}

#[test]
fn full_toml_parses() {
    let c = toml(FULL_TOML).unwrap();
    assert_eq!(c.source, PathBuf::from("t.toml"));
    let b = c.bond("bond0").unwrap();
    assert_eq!(
        b.addresses,
        vec![net("192.168.0.2/24"), net("2001:db8::2/64")]
    );
    assert_eq!(
        b.routes,
        vec![
            Route {
                to: None,
                via: Some("192.168.0.1".parse().unwrap()),
                metric: None
            },
            Route {
                to: Some(net("10.0.0.0/8")),
                via: Some("192.168.0.254".parse().unwrap()),
                metric: Some(50)
            },
        ]
    );
    assert_eq!(
        b.options,
        BondOptions {
            miimon: 100,
            updelay: 200,
            downdelay: 0,
            primary_reselect: PrimaryReselect::Better
        }
    );
    assert_eq!(b.options.primary_reselect.kernel_value(), 1);
    assert_eq!(b.dhcp.client, DhcpClient::Dhclient);
    assert_eq!(
        b.dhcp.client_id,
        ClientId::Raw(vec![
            0x00, 0x02, 0x00, 0x02, 0x2e, 0x2d, 0x01, 0xbd, 0xc3, 0x92, 0x9a, 0x44, 0x2a, 0xc4
        ])
    );
    assert_eq!(b.dhcp.hostname.as_deref(), Some("laptop"));
    assert!(!b.dhcp.dns);
    assert_eq!(
        b.slaves[2].matcher,
        Match::Mac(Mac([0x68, 0xa3, 0xc4, 0xac, 0x63, 0xd1]))
    );
    assert_eq!(b.slaves[3].matcher, Match::Bus(Bus::Usb));
    assert_eq!(b.slaves[4].matcher, Match::AnyPhysical);
    assert!(c.bond("bond1").is_none());
}

#[test]
fn defaults_when_sections_are_missing() {
    let c = toml("[[bond]]\nname = \"bond0\"\n[[bond.slave]]\nany = true\n").unwrap();
    let b = &c.bonds[0];
    assert_eq!(b.kind, Kind::Bond);
    assert_eq!(b.primary, None);
    assert_eq!(
        b.options,
        BondOptions {
            miimon: 100,
            updelay: 0,
            downdelay: 0,
            primary_reselect: PrimaryReselect::Always
        }
    );
    assert_eq!(b.dhcp, Dhcp::default());
    assert_eq!(b.dhcp.client, DhcpClient::Builtin);
    assert_eq!(b.dhcp.client_id, ClientId::Duid);
    assert!(
        b.dhcp.dns,
        "the lease's DNS is handed to the system unless turned off"
    );
    assert!(b.addresses.is_empty() && b.routes.is_empty());
    assert_eq!(b.ipv6, Ipv6Mode::Stable, "one IPv6 address across failover");
}

#[test]
fn ipv6_modes_parse() {
    for (v, want) in [
        ("stable", Ipv6Mode::Stable),
        ("kernel", Ipv6Mode::Kernel),
        ("off", Ipv6Mode::Off),
    ] {
        let text =
            format!("[[bond]]\nname = \"bond0\"\nipv6 = \"{v}\"\n[[bond.slave]]\nany = true\n");
        assert_eq!(toml(&text).unwrap().bonds[0].ipv6, want, "{v}");
    }
}

/// Each invalid input, with the position (line:column) and message expected.
#[test]
fn invalid_toml_reports_line_and_column() {
    const B: &str = "[[bond]]\nname = \"bond0\"\n";
    const S: &str = "[[bond.slave]]\nname = \"enp*\"\n";
    let cases: Vec<(String, &str)> = vec![
        // Syntax and serde errors, positioned by toml itself.
        ("[[bond]\n".into(), "1:7: "),
        (format!("{B}foo = 1\n{S}"), "3:1: unknown field `foo`"),
        (format!("{B}\"a\\u001b{}\" = 1\n{S}", "x".repeat(60)), "3:1: unknown field `a\\x1bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...`"),
        (format!("{B}{S}colour = \"red\"\n"), "5:1: unknown field `colour`"),
        (format!("{B}kind = \"brige\"\n{S}"), "3:8: unknown variant `brige`"),
        (format!("{B}ipv6 = \"eui64\"\n{S}"), "3:8: unknown variant `eui64`, expected one of `stable`, `kernel`, `off`"),
        (format!("{B}{S}[bond.options]\nmiimon = -5\n"), "6:10: invalid value"),
        (format!("{B}{S}[bond.options]\nfail_over_mac = 1\n"), "6:1: unknown field `fail_over_mac`"),
        (format!("{B}{S}[bond.dhcp]\nclient = \"pump\"\n"), "6:10: unknown variant `pump`"),
        (format!("{B}[[bond.slave]]\nbus = \"isa\"\n"), "4:7: unknown variant `isa`"),
        ("[bond]\nname = \"bond0\"\n".into(), "1:1: invalid type: map, expected a sequence (write [[bond]]"),
        // Semantic errors, positioned with the spans we kept.
        ("".into(), "1:1: no [[bond]] defined"),
        ("# nothing\n".into(), "1:1: no [[bond]] defined"),
        // toml gives no message for a control character in a comment (found by fuzzing).
        ("# a\u{0}b\n[[bond]]\n".into(), "1:4: unexpected character \"\\x00\""),
        (format!("{B}# \u{7f}\n{S}"), "3:3: unexpected character \"\\x7f\""),
        (format!("\n[[bond]]\nkind = \"bond\"\n{S}"), "2:1: [[bond]] has no name"),
        ("[[bond]]\nname = \"bond 0\"\n".to_string() + S, "2:8: invalid interface name \"bond 0\": contains whitespace"),
        ("[[bond]]\nname = \"averyveryverylongname\"\n".to_string() + S, "2:8: invalid interface name \"averyveryverylongname\": is 21 bytes long"),
        ("[[bond]]\nname = \"a/b\"\n".to_string() + S, "2:8: invalid interface name \"a/b\": contains '/'"),
        ("[[bond]]\nname = \"bond*\"\n[[bond.slave]]\nname = \"enp1\"\n".into(), "2:8: invalid bond name"),
        (format!("{B}{S}[[bond]]\nname = \"bond0\"\n{S}"), "6:8: duplicate bond name \"bond0\" (first defined on line 2)"),
        (format!("{B}primary = \"enp 3\"\n{S}"), "3:11: invalid interface name \"enp 3\": contains whitespace"),
        (format!("{B}primary = \"enp*\"\n{S}"), "3:11: primary \"enp*\" must be an exact interface name"),
        (format!("{B}primary = \"wlp2s0\"\n{S}"), "3:11: primary \"wlp2s0\" matches none of the slave rules"),
        (format!("{B}primary = \"bond0\"\n{S}"), "3:11: primary of \"bond0\" is the bond itself"),
        (format!("{B}addresses = [\"192.168.0.2\"]\n{S}"), "3:14: invalid address \"192.168.0.2\": missing /PREFIXLEN"),
        (format!("{B}addresses = [\"192.168.0.2/33\"]\n{S}"), "3:14: invalid address \"192.168.0.2/33\": prefix length 33 is more than 32"),
        (format!("{B}addresses = [\"10.0.0.1/8\", \"2001:db8::1/129\"]\n{S}"), "3:28: invalid address \"2001:db8::1/129\": prefix length 129 is more than 128"),
        (format!("{B}addresses = [\"192.168.0.300/24\"]\n{S}"), "3:14: invalid address \"192.168.0.300/24\": \"192.168.0.300\" is not an IP address"),
        (format!("{B}addresses = [\"0.0.0.0/0\"]\n{S}"), "3:14: invalid address \"0.0.0.0/0\": not a unicast address"),
        (format!("{B}addresses = [\"10.0.0.1/8\", \"10.0.0.1/8\"]\n{S}"), "3:28: address 10.0.0.1/8 listed twice"),
        (format!("{B}routes = [\"default via\"]\n{S}"), "3:11: invalid route \"default via\": via needs a value"),
        (format!("{B}routes = [\"default via 192.168.0.1 dev eth0\"]\n{S}"), "3:11: invalid route \"default via 192.168.0.1 dev eth0\": unexpected \"dev\""),
        (format!("{B}routes = [\"10.0.0.1/8 via 192.168.0.1\"]\n{S}"), "3:11: invalid route \"10.0.0.1/8 via 192.168.0.1\": 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"),
        (format!("{B}routes = [\"10.0.0.0/8 via 2001:db8::1\"]\n{S}"), "3:11: invalid route \"10.0.0.0/8 via 2001:db8::1\": gateway 2001:db8::1 is not of the same family"),
        (format!("{B}routes = [\"default metric x\"]\n{S}"), "3:11: invalid route \"default metric x\": metric \"x\" is not a number"),
        (format!("{B}routes = [\"\"]\n{S}"), "3:11: invalid route \"\": no destination"),
        (format!("{B}routes = [\"default via 10.0.0.1\", \"default via 10.0.0.2\"]\n{S}"), "3:35: a route to default is listed twice"),
        (format!("{B}kind = \"bridge\"\nprimary = \"enp3s0\"\n{S}"), "4:11: bridge \"bond0\": bridges have no primary"),
        (format!("{B}kind = \"bridge\"\n{S}[bond.options]\nmiimon = 100\n"), "6:1: bridge \"bond0\": bond options do not apply to a bridge"),
        (format!("{B}{S}[bond.options]\nmiimon = 0\n"), "6:10: miimon = 0 turns link monitoring off"),
        (format!("{B}{S}[bond.options]\nupdelay = 150\n"), "6:11: updelay = 150 is not a multiple of miimon (100)"),
        (format!("{B}{S}[bond.options]\nprimary_reselect = \"sometimes\"\n"), "6:20: unknown variant `sometimes`"),
        (format!("{B}{S}[bond.dhcp]\nhostname = \"my_laptop\"\n"), "6:12: invalid hostname \"my_laptop\": only letters, digits"),
        (format!("{B}{S}[bond.dhcp]\nhostname = \"-laptop\"\n"), "6:12: invalid hostname \"-laptop\": a label starts or ends with '-'"),
        (format!("{B}{S}[bond.dhcp]\nclient_id = \"00:zz\"\n"), "6:13: invalid client_id \"00:zz\""),
        (format!("{B}{S}[bond.dhcp]\nclient_id = \"01\"\n"), "6:13: invalid client_id \"01\": needs at least 2 bytes"),
        (format!("{B}{S}[bond.dhcp]\ndns = \"yes\"\n"), "6:7: invalid type: string \"yes\", expected a boolean"),
        (format!("{B}\n[[bond.slave]]\n"), "4:1: [[bond.slave]] needs one of name, mac, bus or any = true"),
        (format!("{B}[[bond.slave]]\nname = \"enp*\"\nmac = \"00:11:22:33:44:55\"\n"), "5:7: [[bond.slave]] has name and mac: give exactly one matcher"),
        (format!("{B}[[bond.slave]]\nany = false\n"), "4:7: any = false matches nothing"),
        (format!("{B}[[bond.slave]]\nname = \"en p*\"\n"), "4:8: invalid interface pattern \"en p*\": contains whitespace"),
        (format!("{B}[[bond.slave]]\nname = \"enp[0-9\"\n"), "4:8: invalid interface pattern \"enp[0-9\": '[' is never closed"),
        (format!("{B}[[bond.slave]]\nname = \"1234567890123456\"\n"), "4:8: invalid interface name \"1234567890123456\": is 16 bytes long"),
        (format!("{B}[[bond.slave]]\nmac = \"00:11:22:33:44\"\n"), "4:7: invalid MAC address \"00:11:22:33:44\""),
        (format!("{B}[[bond.slave]]\nmac = \"01:00:5e:00:00:01\"\n"), "4:7: invalid MAC address \"01:00:5e:00:00:01\": a multicast address"),
        (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ config = \"wpa.conf\" }}\n"), "5:25: supplicant config \"wpa.conf\" must be an absolute path"),
        (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ driver = \"-x foo\" }}\n"), "5:25: invalid supplicant driver \"-x foo\""),
        (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ driver = \"wext\", config = \"driver.conf\" }}\n"), "5:42: supplicant config \"driver.conf\" must be an absolute path"),
        (format!("{B}[[bond.slave]]\nname = \"wlp*\"\nsupplicant = {{ conf = \"/x\" }}\n"), "5:16: unknown field `conf`"),
        (format!("{B}auto_supplicant = {{ config = \"rel\" }}\n{S}"), "3:30: supplicant config \"rel\" must be an absolute path"),
        (B.to_string(), "1:1: bond \"bond0\" has no [[bond.slave]] rule"),
        (format!("{B}[[bond.slave]]\nname = \"bond*\"\n"), "4:8: slave pattern \"bond*\" matches bond \"bond0\": an interface cannot be both a bond and a slave (use any = true"),
        (format!("{B}{S}[[bond]]\nname = \"bond1\"\n[[bond.slave]]\nname = \"bond0\"\n"), "8:8: slave pattern \"bond0\" matches bond \"bond0\""),
        (format!("{B}primary = \"bond1\"\n[[bond.slave]]\nname = \"bond1\"\n[[bond]]\nname = \"bond1\"\n{S}"), "5:8: slave pattern \"bond1\" matches bond \"bond1\""),
    ];
    for (text, want) in &cases {
        let got = toml_err(text);
        let want = format!("t.toml:{want}");
        assert!(
            got.starts_with(&want),
            "for\n{text}\nwant: {want}\ngot:  {got}"
        );
        assert!(!got.contains('\n'), "multi-line error: {got}");
    }
}

#[test]
fn bridge_variant_toml() {
    let c = toml(
        "[[bond]]\nname = \"br0\"\nkind = \"bridge\"\naddresses = [\"10.1.0.1/24\"]\n\
         [bond.dhcp]\nclient = \"none\"\n[[bond.slave]]\nname = \"veth*\"\n",
    )
    .unwrap();
    let b = &c.bonds[0];
    assert!(b.is_bridge());
    assert_eq!(b.primary, None);
    assert_eq!(b.dhcp.client, DhcpClient::None);
    let veth = DeviceFacts {
        name: "veth1".into(),
        ..DeviceFacts::default()
    };
    // Name rules match virtual devices too (that is how tests use veth).
    let (bond, rule) = c.bond_for(&veth).unwrap();
    assert_eq!(bond.name, "br0");
    assert_eq!(rule.matcher, Match::Name("veth*".into()));
}

#[test]
fn json_shape() {
    let c = toml(FULL_TOML).unwrap();
    let v = serde_json::to_value(&c).unwrap();
    let b = &v["bonds"][0];
    assert_eq!(b["name"], "bond0");
    assert_eq!(b["kind"], "bond");
    assert_eq!(b["primary"], "enp3s0");
    assert_eq!(b["addresses"][0], "192.168.0.2/24");
    assert_eq!(b["routes"][1], "10.0.0.0/8 via 192.168.0.254 metric 50");
    assert_eq!(b["options"]["primary_reselect"], "better");
    assert_eq!(b["dhcp"]["client"], "dhclient");
    assert_eq!(
        b["dhcp"]["client_id"],
        "00:02:00:02:2e:2d:01:bd:c3:92:9a:44:2a:c4"
    );
    assert_eq!(b["slaves"][0]["matcher"]["name"], "enp*");
    assert_eq!(b["slaves"][2]["matcher"]["mac"], "68:a3:c4:ac:63:d1");
    assert_eq!(b["slaves"][3]["matcher"]["bus"], "usb");
    assert_eq!(b["slaves"][4]["matcher"]["any"], true);
    assert_eq!(b["slaves"][1]["supplicant"]["driver"], "nl80211");
    assert_eq!(v["source"], "t.toml");
}
